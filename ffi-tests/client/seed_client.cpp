// The official C++ server SDK's documented code (../shared/seeds/rtm-server-cpp-push-monitor.md)
// against rtm::RTMServerClient, with only the include line changed: the MyMonitor class
// verbatim, `RTMServerClientPtr client(new RTMServerClient(...))`, `setServerPushMonitor(
// make_shared<MyMonitor>())`, and every listen form of the seed (sync and async; sets and
// flags; with and without `timeout`). Built with g++ and clang++ at -std=c++11 and -std=c++17
// (-Wall -Wextra -Werror) by scripts/cpp-client.sh, and run against `gate-sim --script demo`:
//
//   seed_client <path to gate-sim>
//
// Checks: every sync call returns 0; every async callback fires exactly once with 0; the flags
// form sets the flags it names (setListen(true, false, true, false, 0) is group + p2p); every
// push kind of the demo script reaches its virtual, declared the official way (no `override`);
// the mid-frame drop is survived and the listens restored (gate-sim's SCRIPT OK, a reconnect).
#include "rtm_server_client.hpp" // the official SDK: #include "rtm.h"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "../check.h"
#include "../sim.h"

using namespace rtm;
using namespace std;

// ---- the seed, verbatim (its empty bodies leave named parameters unused, hence the pragma)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
    class MyMonitor: public RTMServerPushMonitor
    {
        // listen connected event
        virtual void connected(const string& endpoint, bool connected, bool isReconnect) {}
    
        // listen closed event
        virtual void closed(const string& endpoint, bool causedByError, bool isReconnect) {}
    
        // listen p2p message
        virtual void pushP2PMessage(RTMMessage message) {}
    
        // listen group message
        virtual void pushGroupMessage(RTMMessage message) {}
    
        // listen room message
        virtual void pushRoomMessage(RTMMessage message) {}
    
        // listen p2p file message
        virtual void pushP2PFile(RTMMessage message) {}
    
        // listen group file message
        virtual void pushGroupFile(RTMMessage message) {}
    
        // listen room file message
        virtual void pushRoomFile(RTMMessage message) {}
    
        // listen p2p chat message
        virtual void pushP2PChat(RTMMessage message) {}
    
        // listen p2p command message
        virtual void pushP2PCmd(RTMMessage message) {}
    
        // listen group chat message 
        virtual void pushGroupChat(RTMMessage message) {}
    
        // listen group command message
        virtual void pushGroupCmd(RTMMessage message) {}
    
        // listen room chat message
        virtual void pushRoomChat(RTMMessage message) {}
    
        // listen room command message
        virtual void pushRoomCmd(RTMMessage message) {}
    
        // push event (only login and logout event are supported)
        virtual void pushEvent(int32_t pid, const string& event, int64_t uid, int32_t time, const string& endpoint, const string& data) {}
    
        // server ping
        virtual void ping() {}
    };
#pragma GCC diagnostic pop

// ---- a monitor written the official way (virtual, no override) that counts every call
class CountingMonitor : public MyMonitor {
public:
    mutex mu;
    map<string, int> counts;
    map<string, RTMMessage> last;
    vector<bool> reconnectFlags;
    int32_t evPid = 0, evTime = 0;
    string evData;

    int count(const string &k) {
        lock_guard<mutex> lk(mu);
        return counts.count(k) ? counts[k] : 0;
    }
    void add(const char *k, RTMMessage m) {
        lock_guard<mutex> lk(mu);
        counts[k]++;
        last[k] = m;
    }

    virtual void connected(const string& endpoint, bool connected, bool isReconnect) {
        lock_guard<mutex> lk(mu);
        counts[connected ? "connected" : "connectFailed"]++;
        if (connected) reconnectFlags.push_back(isReconnect);
        (void)endpoint;
    }
    virtual void closed(const string& endpoint, bool causedByError, bool isReconnect) {
        lock_guard<mutex> lk(mu);
        counts["closed"]++;
        (void)endpoint, (void)causedByError, (void)isReconnect;
    }
    virtual void pushP2PMessage(RTMMessage message) { add("pushP2PMessage", message); }
    virtual void pushGroupMessage(RTMMessage message) { add("pushGroupMessage", message); }
    virtual void pushRoomMessage(RTMMessage message) { add("pushRoomMessage", message); }
    virtual void pushP2PFile(RTMMessage message) { add("pushP2PFile", message); }
    virtual void pushGroupFile(RTMMessage message) { add("pushGroupFile", message); }
    virtual void pushRoomFile(RTMMessage message) { add("pushRoomFile", message); }
    virtual void pushP2PChat(RTMMessage message) { add("pushP2PChat", message); }
    virtual void pushP2PAudio(RTMMessage message) { add("pushP2PAudio", message); }
    virtual void pushP2PCmd(RTMMessage message) { add("pushP2PCmd", message); }
    virtual void pushGroupChat(RTMMessage message) { add("pushGroupChat", message); }
    virtual void pushGroupAudio(RTMMessage message) { add("pushGroupAudio", message); }
    virtual void pushGroupCmd(RTMMessage message) { add("pushGroupCmd", message); }
    virtual void pushRoomChat(RTMMessage message) { add("pushRoomChat", message); }
    virtual void pushRoomAudio(RTMMessage message) { add("pushRoomAudio", message); }
    virtual void pushRoomCmd(RTMMessage message) { add("pushRoomCmd", message); }
    virtual void pushEvent(int32_t pid, const string& event, int64_t uid, int32_t time, const string& endpoint, const string& data) {
        lock_guard<mutex> lk(mu);
        counts["pushEvent"]++;
        evPid = pid;
        evTime = time;
        evData = data;
        (void)event, (void)uid, (void)endpoint;
    }
    virtual void ping() {
        lock_guard<mutex> lk(mu);
        counts["ping"]++;
    }
    // extras (not official): traced with SEED_TRACE=1
    virtual void commandCompleted(uint32_t id, int64_t code, const string &ex) {
        if (getenv("SEED_TRACE")) fprintf(stderr, "%llu completed %u %lld %s\n", (unsigned long long)mono_ms(), id, (long long)code, ex.c_str());
    }
    virtual void restored(int64_t code) {
        if (getenv("SEED_TRACE")) fprintf(stderr, "%llu restored %lld\n", (unsigned long long)mono_ms(), (long long)code);
    }
    virtual void disconnected(const string &ep, const rtm_close_reason &r, uint64_t retry) {
        if (getenv("SEED_TRACE")) fprintf(stderr, "%llu disconnected %s %s retry %llu\n", (unsigned long long)mono_ms(), ep.c_str(), reasonString(r), (unsigned long long)retry);
    }
};

// Counts an async callback's calls and keeps its code.
struct Async {
    atomic<int> calls{0};
    atomic<int32_t> code{-1};
    std::function<void(int32_t)> fn() {
        return [this](int32_t errorCode) {
            code = errorCode;
            calls++;
        };
    }
};

static bool waitFor(const std::function<bool()> &cond, int ms) {
    uint64_t end = mono_ms() + static_cast<uint64_t>(ms);
    while (!cond()) {
        if (mono_ms() > end) return false;
        sleep_ms(5);
    }
    return true;
}

static rtm_listen_state confirmed(RTMServerClient &c) {
    rtm_listen_state s;
    memset(&s, 0, sizeof s);
    c.listenState(RTM_LISTEN_CONFIRMED, s);
    return s;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s <path to gate-sim>\n", argv[0]);
        return 2;
    }
    check_group("seed code against gate-sim --script demo");
    sim_proc sim;
    if (!CHECK(sim_start(&sim, argv[1], "demo") == 0)) return check_summary();
    string endpoint = "127.0.0.1:" + to_string(sim.port);
    int32_t pid = 1000001;
    string secret = "sim-secret";

    RTMServerClientPtr client(new RTMServerClient(pid, secret, endpoint));
    client->setServerPushMonitor(make_shared<MyMonitor>()); // the seed's line, verbatim
    shared_ptr<CountingMonitor> monitor = make_shared<CountingMonitor>();
    client->setServerPushMonitor(monitor);
    client->setQuestTimeout(5);
    client->setAutoReconnect(true);
    RTMServerClient::RegressiveStrategy strategy;
    client->setRegressiveConnectStrategy(strategy);
    CHECK(client->endpoint() == endpoint);
    CHECK(client->connect());
    CHECK(client->connected());

    // the flags form: exactly the flags named, never shifted
    CHECK_EQ(client->setListen(true, false, true, false, 0), 0);
    rtm_listen_state s = confirmed(*client);
    CHECK(s.all_group && !s.all_room && s.all_p2p && !s.all_event);
    CHECK_EQ(client->setListen(false, true, false, true), 0);
    s = confirmed(*client);
    CHECK(!s.all_group && s.all_room && !s.all_p2p && s.all_event);

    // the async flags form with a lambda: a callback, not a flag
    Async a1;
    client->setListen(false, false, false, false, a1.fn());
    CHECK(waitFor([&] { return a1.calls.load() > 0; }, 5000));
    s = confirmed(*client);
    CHECK(!s.all_group && !s.all_room && !s.all_p2p && !s.all_event);

    // the ids forms (gid 2001 comes last: the demo script starts when every target listens)
    set<int64_t> groupIds{2002}, roomIds{3001}, userIds{1001};
    set<string> events{"login"};
    CHECK_EQ(client->addListen(groupIds, roomIds, userIds, events), 0);
    CHECK_EQ(client->removeListen({2002}, {}, {}, {}, 5), 0);
    CHECK_EQ(client->addListen({2003}, {}, {}, {}, 5), 0);
    Async a2, a3, a4, a5;
    client->addListen({2004}, {}, {}, {}, a2.fn());
    client->removeListen({2003, 2004}, {}, {}, {}, a3.fn(), 5);
    client->setListen(false, false, false, false, a4.fn(), 5);
    CHECK(waitFor([&] { return a2.calls + a3.calls + a4.calls == 3; }, 5000));
    CHECK_EQ(client->setListen({2002}, {3001}, {1001}, {"login"}, 5), 0);
    client->setListen(groupIds, roomIds, userIds, events, a5.fn()); // {2002}: not yet every target
    CHECK(waitFor([&] { return a5.calls.load() > 0; }, 5000));
    s = confirmed(*client);
    CHECK(s.gids == 1 && s.rids == 1 && s.uids == 1 && s.login && !s.logout && !s.all_group);
    // the last one (gid 2001) starts the script: its pushes and drop race what follows
    groupIds = {2001};
    CHECK_EQ(client->setListen(groupIds, roomIds, userIds, events), 0);

    // the demo script: every push kind, a mid-frame drop, the listens restored
    CHECK_EQ(sim_finish(&sim, 30000), 0);
    CHECK(strcmp(sim.line, "SCRIPT OK pushes=22 answered=21 reconnects=1") == 0);
    if (strcmp(sim.line, "SCRIPT OK pushes=22 answered=21 reconnects=1") != 0) fprintf(stderr, "gate-sim: %s\n", sim.line);
    CHECK(waitFor([&] { return monitor->count("pushRoomChat") >= 2; }, 3000));
    for (const char *k : {"pushP2PMessage", "pushGroupMessage", "pushRoomMessage", "pushP2PFile", "pushGroupFile",
                          "pushRoomFile", "pushP2PAudio", "pushGroupAudio", "pushRoomAudio", "pushP2PCmd",
                          "pushGroupCmd", "pushRoomCmd", "pushEvent", "ping"})
        check_i64(monitor->count(k), 1, k, __FILE__, __LINE__);
    CHECK_EQ(monitor->count("pushP2PChat"), 2);   // hello, after reconnect (the duplicate dropped)
    CHECK_EQ(monitor->count("pushGroupChat"), 3); // hello, oneway, after reconnect
    CHECK_EQ(monitor->count("pushRoomChat"), 2);
    CHECK(monitor->count("closed") >= 1); // the mid-frame drop (and gate-sim's exit)
    CHECK(monitor->count("connected") >= 2);
    {
        lock_guard<mutex> lk(monitor->mu);
        CHECK(monitor->reconnectFlags.size() >= 2 && !monitor->reconnectFlags[0] && monitor->reconnectFlags[1]);
        CHECK_EQ(monitor->evPid, 1000001);
        CHECK_EQ(monitor->evTime, 1700000000);
        CHECK(monitor->evData == "demo");
        RTMMessage &f = monitor->last["pushP2PFile"];
        CHECK(f.fileInfo && f.fileInfo->url == "http://127.0.0.1/f/104.amr" && f.attrs == "{\"k\":\"v\"}");
        CHECK(monitor->last["pushGroupChat"].message == "after reconnect");
    }
    // every async callback fired exactly once, with 0
    for (Async *a : {&a1, &a2, &a3, &a4, &a5}) {
        CHECK_EQ(a->calls.load(), 1);
        CHECK_EQ(a->code.load(), 0);
    }
    // gate-sim has exited: nothing is confirmed, the desired state is kept for the next connection
    rtm_listen_state d;
    memset(&d, 0, sizeof d);
    CHECK_ST(client->listenState(RTM_LISTEN_DESIRED, d), RTM_OK);
    CHECK(d.gids == 1 && d.rids == 1 && d.uids == 1 && d.login);
    client->close();
    CHECK(!client->connected());
    // async calls after close() restart the client; a refused host completes them once
    return check_summary();
}
