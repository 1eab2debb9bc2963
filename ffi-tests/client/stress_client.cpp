// rtm::RTMServerClient under concurrent use, for ThreadSanitizer, ASan+UBSan and valgrind
// (scripts/cpp-client.sh): four threads make sync and async listen calls (and read connected()
// and endpoint()) while `gate-sim --script demo` pushes every kind, drops the connection mid
// frame and checks the listens were restored.
//
//   stress_client <path to gate-sim>
//
// Checks: the script passes (every push answered, restoration); every push kind reaches the
// monitor once (chats as in the seed test); every sync call returns 0 or a kept-intent code
// (20002, 20003, 20012: calls that straddle the drop); every async callback fires exactly once.
#include "rtm_server_client.hpp"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../check.h"
#include "../sim.h"

using namespace rtm;

namespace {

class Counter : public RTMServerPushMonitor {
public:
    std::mutex mu;
    std::map<std::string, int> counts;
    int count(const std::string &k) {
        std::lock_guard<std::mutex> lk(mu);
        return counts.count(k) ? counts[k] : 0;
    }
    void add(const char *k) {
        std::lock_guard<std::mutex> lk(mu);
        counts[k]++;
    }
    void connected(const std::string &, bool ok, bool) override { add(ok ? "connected" : "connectFailed"); }
    void closed(const std::string &, bool, bool) override { add("closed"); }
    void pushP2PMessage(RTMMessage) override { add("pushP2PMessage"); }
    void pushGroupMessage(RTMMessage) override { add("pushGroupMessage"); }
    void pushRoomMessage(RTMMessage) override { add("pushRoomMessage"); }
    void pushP2PFile(RTMMessage) override { add("pushP2PFile"); }
    void pushGroupFile(RTMMessage) override { add("pushGroupFile"); }
    void pushRoomFile(RTMMessage) override { add("pushRoomFile"); }
    void pushP2PChat(RTMMessage) override { add("pushP2PChat"); }
    void pushP2PAudio(RTMMessage) override { add("pushP2PAudio"); }
    void pushP2PCmd(RTMMessage) override { add("pushP2PCmd"); }
    void pushGroupChat(RTMMessage) override { add("pushGroupChat"); }
    void pushGroupAudio(RTMMessage) override { add("pushGroupAudio"); }
    void pushGroupCmd(RTMMessage) override { add("pushGroupCmd"); }
    void pushRoomChat(RTMMessage) override { add("pushRoomChat"); }
    void pushRoomAudio(RTMMessage) override { add("pushRoomAudio"); }
    void pushRoomCmd(RTMMessage) override { add("pushRoomCmd"); }
    void pushEvent(int32_t, const std::string &, int64_t, int32_t, const std::string &, const std::string &) override {
        add("pushEvent");
    }
    void ping() override { add("ping"); }
};

const int kThreads = 4;
const int kMaxAsync = 4096;

struct Shared {
    std::atomic<bool> stop{false};
    std::atomic<int> asyncIssued{0};
    std::atomic<int> asyncCalls[kMaxAsync];
    std::atomic<int> syncCalls{0}, syncOk{0}, syncKept{0}, syncOther{0};
    Shared() {
        for (int i = 0; i < kMaxAsync; i++) asyncCalls[i] = 0;
    }
};

void worker(RTMServerClient *client, Shared *sh, int t) {
    int64_t base = 5000 + 1000 * t;
    int i = 0;
    while (!sh->stop.load()) {
        int64_t gid = base + (i++ % 50);
        int32_t code = client->addListen({gid}, {}, {}, {}, 3);
        sh->syncCalls++;
        if (code == 0)
            sh->syncOk++;
        else if (code == 20002 || code == 20003 || code == 20012)
            sh->syncKept++;
        else
            sh->syncOther++;
        int slot = sh->asyncIssued++;
        if (slot < kMaxAsync) {
            client->removeListen({gid}, {}, {}, {}, [sh, slot](int32_t) { sh->asyncCalls[slot]++; }, 3);
        } else {
            sh->asyncIssued--;
        }
        (void)client->connected();
        (void)client->endpoint().size();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s <path to gate-sim>\n", argv[0]);
        return 2;
    }
    check_group("client: listen calls from 4 threads while gate-sim's demo pushes and drops");
    sim_proc sim;
    if (!CHECK(sim_start(&sim, argv[1], "demo") == 0)) return check_summary();
    std::shared_ptr<Counter> monitor = std::make_shared<Counter>();
    Shared *sh = new Shared;
    {
        RTMServerClientPtr client(new RTMServerClient(1000001, "sim-secret", "127.0.0.1:" + std::to_string(sim.port)));
        client->setServerPushMonitor(monitor);
        CHECK(client->connect());
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; t++) threads.push_back(std::thread(worker, client.get(), sh, t));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        // every target of the script, added (not set: the workers' ids stay)
        CHECK_EQ(client->addListen({2001}, {3001}, {1001}, {"login"}), 0);
        CHECK_EQ(sim_finish(&sim, 40000), 0);
        if (!CHECK(std::strcmp(sim.line, "SCRIPT OK pushes=22 answered=21 reconnects=1") == 0))
            std::fprintf(stderr, "gate-sim: %s\n", sim.line);
        sh->stop = true;
        for (size_t t = 0; t < threads.size(); t++) threads[t].join();
        client->close(); // completes what is outstanding (20002)
        int issued = sh->asyncIssued.load();
        int once = 0;
        for (int i = 0; i < issued; i++) once += sh->asyncCalls[i].load() == 1;
        CHECK_EQ(once, issued);
        CHECK(sh->syncCalls.load() >= kThreads);
        CHECK_EQ(sh->syncOther.load(), 0);
        std::printf("sync calls %d (0: %d, kept: %d), async calls %d\n", sh->syncCalls.load(), sh->syncOk.load(),
                    sh->syncKept.load(), issued);
    } // the client is destroyed here, its thread joined
    for (const char *k : {"pushP2PMessage", "pushGroupMessage", "pushRoomMessage", "pushP2PFile", "pushGroupFile",
                          "pushRoomFile", "pushP2PAudio", "pushGroupAudio", "pushRoomAudio", "pushP2PCmd",
                          "pushGroupCmd", "pushRoomCmd", "pushEvent", "ping"})
        check_i64(monitor->count(k), 1, k, __FILE__, __LINE__);
    CHECK_EQ(monitor->count("pushP2PChat"), 2);
    CHECK_EQ(monitor->count("pushGroupChat"), 3);
    CHECK_EQ(monitor->count("pushRoomChat"), 2);
    CHECK(monitor->count("connected") >= 2);
    delete sh;
    return check_summary();
}
