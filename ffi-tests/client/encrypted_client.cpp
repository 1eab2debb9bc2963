// rtm::RTMServerClient with FPNN encryption through the official calls, against gate-sim with a
// server key (--curve, --private-key, --write-public-key) that refuses plaintext listens
// (--force-encrypt), running its demo script: every push kind, a mid-frame drop, the listens
// restored on the new (new key) connection. Built by scripts/cpp-client.sh (C++11, -Werror;
// plain, ASan+UBSan and valgrind).
//
//   encrypted_client <path to gate-sim>
//
// Runs: enableEncryptorByPemFile (secp256k1, the defaults: package mode, AES-128),
// enableEncryptorByDerFile (secp256r1, stream, reinforce), enableEncryptorByPemData (secp224r1,
// package, reinforce), enableEncryptorByDerData (secp192r1, stream), enableEncryptor with the
// raw key (secp256k1, stream, reinforce), and one enabled after the first connection came up
// plaintext (effective from the next connection). Refusals return false and keep the setting
// made before them.
#include "rtm_server_client.hpp"

#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "../check.h"
#include "../sim.h"

using namespace rtm;
using namespace std;

// Counts the official callbacks (declared the official way: virtual, no override).
class Counting : public RTMServerPushMonitor {
public:
    mutex mu;
    map<string, int> counts;

    int count(const string &k) {
        lock_guard<mutex> lk(mu);
        return counts.count(k) ? counts[k] : 0;
    }
    void add(const char *k) {
        lock_guard<mutex> lk(mu);
        counts[k]++;
    }
    virtual void connected(const string &, bool ok, bool) { add(ok ? "connected" : "connectFailed"); }
    virtual void closed(const string &, bool, bool) { add("closed"); }
    virtual void pushP2PMessage(RTMMessage) { add("pushP2PMessage"); }
    virtual void pushGroupMessage(RTMMessage) { add("pushGroupMessage"); }
    virtual void pushRoomMessage(RTMMessage) { add("pushRoomMessage"); }
    virtual void pushP2PFile(RTMMessage) { add("pushP2PFile"); }
    virtual void pushGroupFile(RTMMessage) { add("pushGroupFile"); }
    virtual void pushRoomFile(RTMMessage) { add("pushRoomFile"); }
    virtual void pushP2PChat(RTMMessage) { add("pushP2PChat"); }
    virtual void pushP2PAudio(RTMMessage) { add("pushP2PAudio"); }
    virtual void pushP2PCmd(RTMMessage) { add("pushP2PCmd"); }
    virtual void pushGroupChat(RTMMessage) { add("pushGroupChat"); }
    virtual void pushGroupAudio(RTMMessage) { add("pushGroupAudio"); }
    virtual void pushGroupCmd(RTMMessage) { add("pushGroupCmd"); }
    virtual void pushRoomChat(RTMMessage) { add("pushRoomChat"); }
    virtual void pushRoomAudio(RTMMessage) { add("pushRoomAudio"); }
    virtual void pushRoomCmd(RTMMessage) { add("pushRoomCmd"); }
    virtual void pushEvent(int32_t, const string &, int64_t, int32_t, const string &, const string &) {
        add("pushEvent");
    }
    virtual void ping() { add("ping"); }
};

static bool waitFor(const std::function<bool()> &cond, int ms) {
    uint64_t end = mono_ms() + static_cast<uint64_t>(ms);
    while (!cond()) {
        if (mono_ms() > end) return false;
        sleep_ms(5);
    }
    return true;
}

static string fileBytes(const string &path) {
    static uint8_t buf[1024];
    size_t n = read_file(path.c_str(), buf, sizeof buf);
    return string(reinterpret_cast<const char *>(buf), n);
}

enum Call { PemFile, DerFile, PemData, DerData, Raw };

struct Run {
    const char *what;
    const char *curve;
    const char *file; // its extension chooses what gate-sim writes
    Call call;
    bool packageMode, reinforce;
    bool late;  // enabled after the first connection came up plaintext
};

// Enables encryption with `run`'s official call on the key gate-sim wrote at `path`.
static bool enable(RTMServerClient &client, const Run &run, const string &path) {
    switch (run.call) {
    case PemFile:
        if (run.packageMode && !run.reinforce) return client.enableEncryptorByPemFile(path.c_str()); // defaults
        return client.enableEncryptorByPemFile(path.c_str(), run.packageMode, run.reinforce);
    case DerFile: return client.enableEncryptorByDerFile(path.c_str(), run.packageMode, run.reinforce);
    case PemData: return client.enableEncryptorByPemData(fileBytes(path), run.packageMode, run.reinforce);
    case DerData: return client.enableEncryptorByDerData(fileBytes(path), run.packageMode, run.reinforce);
    case Raw: return client.enableEncryptor(run.curve, fileBytes(path), run.packageMode, run.reinforce);
    }
    return false;
}

static void demo(const char *gateSim, const Run &run) {
    check_group(run.what);
    char dir[] = "/tmp/rtm-enc-client-XXXXXX";
    if (!CHECK(mkdtemp(dir) != nullptr)) return;
    string path = string(dir) + "/" + run.file;
    const char *args[] = {"--curve",    run.curve,    "--private-key", "0x1f2e3d4c5b6a79880123456789abcdef",
                          "--write-public-key", path.c_str(), run.late ? nullptr : "--force-encrypt", nullptr};
    sim_proc sim;
    if (!CHECK(sim_start_args(&sim, gateSim, "demo", args) == 0)) return;
    string endpoint = "127.0.0.1:" + to_string(sim.port);
    RTMServerClientPtr client(new RTMServerClient(1000001, "sim-secret", endpoint));
    shared_ptr<Counting> monitor = make_shared<Counting>();
    client->setServerPushMonitor(monitor);
    client->setQuestTimeout(5);

    // Refused keys return false and change nothing (before and after a good one).
    string raw = fileBytes(path);
    CHECK(!client->enableEncryptorByPemFile("/nonexistent/server.pem"));
    CHECK(!client->enableEncryptorByPemFile(nullptr));
    CHECK(!client->enableEncryptor("secp384r1", string(64, '\x01')));
    if (!run.late) CHECK(enable(*client, run, path));
    CHECK(!client->enableEncryptor(run.curve, raw.substr(0, raw.size() / 2)));
    CHECK(!client->enableEncryptorByDerData("not DER"));
    CHECK(!client->enableEncryptorByPemData(""));

    CHECK(client->connect());
    if (run.late) {
        // The first connection is plaintext; the setting counts from the next one (after the
        // demo's mid-frame drop).
        CHECK(enable(*client, run, path));
    }
    CHECK_EQ(client->addListen({2001}, {3001}, {1001}, {"login"}), 0);
    CHECK_EQ(sim_finish(&sim, 30000), 0);
    CHECK(strcmp(sim.line, "SCRIPT OK pushes=22 answered=21 reconnects=1") == 0);
    if (strcmp(sim.line, "SCRIPT OK pushes=22 answered=21 reconnects=1") != 0) fprintf(stderr, "gate-sim: %s\n", sim.line);
    CHECK(waitFor([&] { return monitor->count("pushRoomChat") >= 2; }, 3000));
    for (const char *k : {"pushP2PMessage", "pushGroupMessage", "pushRoomMessage", "pushP2PFile", "pushGroupFile",
                          "pushRoomFile", "pushP2PAudio", "pushGroupAudio", "pushRoomAudio", "pushP2PCmd",
                          "pushGroupCmd", "pushRoomCmd", "pushEvent", "ping"})
        check_i64(monitor->count(k), 1, k, __FILE__, __LINE__);
    CHECK_EQ(monitor->count("pushP2PChat"), 2);
    CHECK_EQ(monitor->count("pushGroupChat"), 3);
    CHECK_EQ(monitor->count("pushRoomChat"), 2);
    CHECK(monitor->count("connected") >= 2);
    // after close(): a connection still in its key exchange is counted (as a failure) by then
    client->close();
    rtm_stats st;
    memset(&st, 0, sizeof st);
    CHECK_ST(client->stats(st), RTM_OK);
    if (run.late) {
        // plaintext first, then every connection after the setting exchanged a key
        CHECK(st.key_exchanges >= 1);
        CHECK_EQ(st.key_exchanges + st.key_exchange_failures, st.connections - 1);
    } else {
        CHECK(st.key_exchanges >= 2);
        CHECK_EQ(st.key_exchanges + st.key_exchange_failures, st.connections);
    }
    unlink(path.c_str());
    rmdir(dir);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s <path to gate-sim>\n", argv[0]);
        return 2;
    }
    const Run runs[] = {
        {"enableEncryptorByPemFile secp256k1 (defaults)", "secp256k1", "server.pem", PemFile, true, false, false},
        {"enableEncryptorByDerFile secp256r1 stream AES-256", "secp256r1", "server.der", DerFile, false, true, false},
        {"enableEncryptorByPemData secp224r1 package AES-256", "secp224r1", "server.pem", PemData, true, true, false},
        {"enableEncryptorByDerData secp192r1 stream AES-128", "secp192r1", "server.der", DerData, false, false, false},
        {"enableEncryptor secp256k1 raw, stream AES-256", "secp256k1", "server-public.key", Raw, false, true, false},
        {"enableEncryptorByPemFile secp256r1 after connect()", "secp256r1", "server.pem", PemFile, true, false, true},
    };
    for (const Run &run : runs) demo(argv[1], run);
    return check_summary();
}
