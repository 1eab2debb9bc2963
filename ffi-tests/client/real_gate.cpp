// A manual run of rtm::RTMServerClient against the FPNN gate of ../shared/tools/fpnn-gate (the
// official FPNN C++ server framework), recorded in RELIABILITY.md. Not part of the test command
// (it needs the gate built outside the project):
//
//   /work/shared/tools/fpnn-gate/start.sh /tmp/fpnn-gate 14201 > /tmp/gate-cpp.log &
//   g++ -std=c++11 -Iinclude ffi-tests/client/real_gate.cpp target/release/librtm_listen.a -pthread -o real_gate
//   ./real_gate 127.0.0.1:14201 40
//
// Prints one line per callback (ms since start) and the sync codes; exits 0 when the listens
// were confirmed, every scripted push arrived and a reconnection restored them.
#include "rtm_server_client.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

using namespace rtm;
using namespace std;

static chrono::steady_clock::time_point t0 = chrono::steady_clock::now();
static long ms() { return (long)chrono::duration_cast<chrono::milliseconds>(chrono::steady_clock::now() - t0).count(); }
static mutex outMu;
#define SAY(...)                                    \
    do {                                            \
        lock_guard<mutex> lk(outMu);                \
        printf("%6ld ", ms());                      \
        printf(__VA_ARGS__);                        \
        printf("\n");                               \
        fflush(stdout);                             \
    } while (0)

class Printer : public RTMServerPushMonitor {
public:
    atomic<int> pushes{0}, connects{0}, restoredOk{0};
    virtual void connected(const string &ep, bool ok, bool isReconnect) {
        if (ok) connects++;
        SAY("connected %s ok=%d isReconnect=%d", ep.c_str(), ok, isReconnect);
    }
    virtual void closed(const string &ep, bool byError, bool isReconnect) {
        SAY("closed %s causedByError=%d isReconnect=%d", ep.c_str(), byError, isReconnect);
    }
    void msg(const char *k, const RTMMessage &m) {
        pushes++;
        SAY("%s from=%lld to=%lld mtype=%d mid=%lld message=\"%s\" attrs=\"%s\"%s%s", k, (long long)m.fromUid,
            (long long)m.toId, m.messageType, (long long)m.messageId, m.message.c_str(), m.attrs.c_str(),
            m.translatedInfo ? " translated" : "", m.fileInfo ? (" file url=" + m.fileInfo->url).c_str() : "");
    }
    virtual void pushP2PMessage(RTMMessage m) { msg("pushP2PMessage", m); }
    virtual void pushGroupMessage(RTMMessage m) { msg("pushGroupMessage", m); }
    virtual void pushRoomMessage(RTMMessage m) { msg("pushRoomMessage", m); }
    virtual void pushP2PFile(RTMMessage m) { msg("pushP2PFile", m); }
    virtual void pushGroupFile(RTMMessage m) { msg("pushGroupFile", m); }
    virtual void pushRoomFile(RTMMessage m) { msg("pushRoomFile", m); }
    virtual void pushP2PChat(RTMMessage m) { msg("pushP2PChat", m); }
    virtual void pushP2PAudio(RTMMessage m) { msg("pushP2PAudio", m); }
    virtual void pushP2PCmd(RTMMessage m) { msg("pushP2PCmd", m); }
    virtual void pushGroupChat(RTMMessage m) { msg("pushGroupChat", m); }
    virtual void pushGroupAudio(RTMMessage m) { msg("pushGroupAudio", m); }
    virtual void pushGroupCmd(RTMMessage m) { msg("pushGroupCmd", m); }
    virtual void pushRoomChat(RTMMessage m) { msg("pushRoomChat", m); }
    virtual void pushRoomAudio(RTMMessage m) { msg("pushRoomAudio", m); }
    virtual void pushRoomCmd(RTMMessage m) { msg("pushRoomCmd", m); }
    virtual void pushEvent(int32_t pid, const string &event, int64_t uid, int32_t time, const string &endpoint,
                           const string &data) {
        pushes++;
        SAY("pushEvent pid=%d event=%s uid=%lld time=%d endpoint=%s data=\"%s\"", pid, event.c_str(), (long long)uid,
            time, endpoint.c_str(), data.c_str());
    }
    virtual void ping() {
        pushes++;
        SAY("ping");
    }
    virtual void restored(int64_t code) {
        if (code == 0) restoredOk++;
        SAY("restored code=%lld", (long long)code);
    }
    virtual void badPush(const string &method, int64_t code, bool twoway, uint32_t seq, size_t len) {
        SAY("badPush method=%s code=%lld twoway=%d seq=%u frameLen=%zu", method.c_str(), (long long)code, twoway, seq,
            len);
    }
    virtual void disconnected(const string &ep, const rtm_close_reason &r, uint64_t retry) {
        SAY("disconnected %s reason=%s retryInMs=%llu", ep.c_str(), reasonString(r), (unsigned long long)retry);
    }
};

int main(int argc, char **argv) {
    const char *endpoint = argc > 1 ? argv[1] : "127.0.0.1:14201";
    int seconds = argc > 2 ? atoi(argv[2]) : 40;
    shared_ptr<Printer> printer = make_shared<Printer>();
    RTMServerClientPtr client(new RTMServerClient(11000001, "s3cr3t", endpoint));
    client->setServerPushMonitor(printer);
    SAY("connect() = %d", client->connect());
    int32_t a = client->addListen({2001}, {3001}, {1002}, {"login"});
    SAY("sync addListen = %d", a);
    int32_t b = client->setListen(false, false, false, false, 5);
    SAY("sync setListen(false, false, false, false, 5) = %d", b);
    atomic<int> asyncCalls{0};
    atomic<int32_t> asyncCode{-1};
    client->addListen({2002}, {}, {}, {"logout"}, [&](int32_t code) {
        asyncCode = code;
        asyncCalls++;
    });
    this_thread::sleep_for(chrono::seconds(seconds));
    rtm_stats st;
    client->stats(st);
    SAY("async addListen calls=%d code=%d; pushes=%d connects=%d restored(0)=%d; stats: pushes %llu duplicates %llu "
        "bad %llu pings %llu connections %llu",
        asyncCalls.load(), asyncCode.load(), printer->pushes.load(), printer->connects.load(), printer->restoredOk.load(),
        (unsigned long long)st.pushes, (unsigned long long)st.duplicates, (unsigned long long)st.bad_pushes,
        (unsigned long long)st.pings, (unsigned long long)st.connections);
    client->close();
    bool ok = a == 0 && b == 0 && asyncCalls == 1 && asyncCode == 0 && printer->connects >= 2 && printer->restoredOk >= 1;
    SAY("%s", ok ? "REAL GATE OK" : "REAL GATE FAIL");
    return ok ? 0 : 1;
}
