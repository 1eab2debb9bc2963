/* rtm::WkListener (include/rtm_listen.hpp) against `wukong-sim --script demo` (a WuKongIM
 * SIMULATION), C++17, in both monitor flavours: the official types by default (RTMMessage by
 * value, RTMMessage::wukong a shared_ptr), and with -DRTM_LISTEN_VIEWS (views, no allocation
 * on the C++ side). Every kind reaches its virtual once, string ids are in `wukong`, a kick and
 * a drop mid-RECV are survived, and an exception thrown by a callback reaches the caller.
 *
 * usage: test_wukong_cpp WUKONG_SIM_BINARY */
#define _POSIX_C_SOURCE 200809L
#include "sim.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.h"
#include "rtm_listen.hpp"

namespace {

struct Seen {
    std::string callback;
    int64_t mid, from, to;
    std::string fromUid, channelId, fileUrl;
    size_t messageLen;
};

#ifdef RTM_LISTEN_VIEWS
using Msg = const rtm::RTMMessage &;
using Str = std::string_view;
#else
using Msg = rtm::RTMMessage;
using Str = const std::string &;
#endif

struct Monitor : rtm::RTMServerPushMonitor {
    std::vector<Seen> seen;
    int connectedOk = 0, kicks = 0, withoutFields = 0;
    bool throwOnce = false;

    void note(const char *cb, Msg m) {
        if (!m.wukong) {
            withoutFields++;
            return;
        }
        seen.push_back(Seen{cb, m.messageId, m.fromUid, m.toId, std::string(m.wukong->fromUid),
                            std::string(m.wukong->channelId),
                            m.fileInfo ? std::string(m.fileInfo->url) : std::string(), m.message.size()});
        if (throwOnce) {
            throwOnce = false;
            throw std::runtime_error("from the callback");
        }
    }
    void connected(Str, bool ok, bool) override { connectedOk += ok; }
    void pushP2PChat(Msg m) override { note("p2p_chat", m); }
    void pushP2PMessage(Msg m) override { note("p2p_message", m); }
    void pushGroupCmd(Msg m) override { note("group_cmd", m); }
    void pushGroupMessage(Msg m) override { note("group_message", m); }
    void pushGroupChat(Msg m) override { note("group_chat", m); }
    void pushRoomFile(Msg m) override { note("room_file", m); }
    void kickout() override { kicks++; }
};

void session(const char *simPath, const char *label, const char *const *extra) {
    check_group(label);
    sim_proc p;
    if (!CHECK(sim_start_args(&p, simPath, "demo", extra) == 0)) return;
    uint8_t entropy[32];
    if (!CHECK(os_entropy(entropy, sizeof entropy) == 0)) return;
    Monitor mon;
    mon.throwOnce = true;
    static rtm::WkListener *lp;
    lp = new rtm::WkListener("90001", "tok", "test-wukong-cpp", entropy, sizeof entropy, mon);
    rtm::WkListener &l = *lp;
    if (!CHECK_ST(l.initStatus(), RTM_OK)) return;
    l.setUnixTime(mono_ms(), unix_ms());
    int fd = -1, thrown = 0;
    uint64_t start = mono_ms();
    while (!sim_exited(&p) && mono_ms() - start < 30000) {
        uint64_t at = 0;
        if (fd < 0) {
            if (l.reconnectAt(at) && mono_ms() >= at && (fd = tcp_connect(p.port)) >= 0) {
                l.connected(mono_ms(), "sim");
            } else {
                sleep_ms(5);
                continue;
            }
        }
        const uint8_t *out = nullptr;
        size_t outLen = 0;
        if (l.transmit(out, outLen) == RTM_OK && outLen > 0) {
            ssize_t w = write(fd, out, outLen);
            if (w > 0) l.transmitDone(static_cast<size_t>(w));
        }
        pollfd pf{fd, POLLIN, 0};
        poll(&pf, 1, 10);
        uint8_t buf[4096];
        ssize_t n = read(fd, buf, sizeof buf);
        rtm_status st = RTM_OK;
        if (n > 0) {
            size_t off = 0;
            while (off < static_cast<size_t>(n) && st == RTM_OK) {
                size_t consumed = 0;
                try {
                    st = l.receive(mono_ms(), buf + off, static_cast<size_t>(n) - off, consumed);
                } catch (const std::runtime_error &) {
                    /* Rethrown after the library returned; the rest of the call still ran. */
                    thrown++;
                    st = RTM_OK;
                }
                off += consumed;
                if (consumed == 0 && l.transmit(out, outLen) == RTM_OK && outLen > 0) {
                    ssize_t w = write(fd, out, outLen);
                    if (w > 0) l.transmitDone(static_cast<size_t>(w));
                }
            }
        } else if (n == 0) {
            close(fd);
            fd = -1;
            l.closed(mono_ms(), rtm_close_reason_of(RTM_REASON_PEER_CLOSED));
            continue;
        }
        if (st == RTM_CLOSE) {
            rtm_close_reason r{};
            CHECK(l.closeReason(r));
            CHECK_EQ(r.kind, RTM_REASON_WK_DISCONNECTED);
            close(fd);
            fd = -1;
            l.closed(mono_ms(), r);
            continue;
        }
        if (l.nextTimeout(at) && mono_ms() >= at) l.handleTimeout(mono_ms());
    }
    if (fd >= 0) close(fd);
    CHECK_EQ(sim_finish(&p, 5000), 0);
    CHECK(strncmp(p.line, "SCRIPT OK", 9) == 0);
    CHECK_EQ(thrown, 1);
    CHECK_EQ(mon.seen.size(), 8);
    CHECK_EQ(mon.withoutFields, 0);
    if (mon.seen.size() == 8) {
        CHECK(mon.seen[0].callback == "p2p_chat");
        CHECK_EQ(mon.seen[0].from, 10001);
        CHECK_EQ(mon.seen[0].to, 90001);
        CHECK(mon.seen[0].fromUid == "10001");
        CHECK(mon.seen[2].callback == "room_file");
        CHECK_EQ(mon.seen[2].from, 0);
        CHECK(mon.seen[2].fromUid == "alice");
        CHECK(mon.seen[2].channelId == "live-7");
        /* The file info from the payload; the payload stays the message (no official rewrite). */
        CHECK(mon.seen[2].fileUrl == "https://example.com/a.png");
        CHECK(mon.seen[2].messageLen > 40);
        CHECK_EQ(mon.seen[6].mid, 2000);
        CHECK_EQ(mon.seen[7].mid, 2001);
    }
    CHECK_EQ(mon.kicks, 1);
    CHECK_EQ(mon.connectedOk, 3);
    delete lp;
}

} // namespace

/* The webhook ingest through rtm::WkListener: the reference's msg.notify body, a retry. */
void webhook() {
    check_group("C++ WkListener webhook");
    static const char notify[] =
        R"([{"header":{"no_persist":0,"red_dot":1,"sync_once":0},"setting":0,"message_id":1848213190224834560,"message_idstr":"1848213190224834560","client_msg_no":"a1b2c3d4","message_seq":12,"from_uid":"alice","channel_id":"g1","channel_type":2,"expire":0,"timestamp":1729756800,"payload":"eyJ0eXBlIjoxLCJjb250ZW50IjoiaGkgYWxsIn0="}])";
    uint8_t entropy[32] = {5};
    Monitor mon;
    std::unique_ptr<rtm::WkListener> l(new rtm::WkListener("monitor", "t", "d", entropy, sizeof entropy, mon));
    CHECK_ST(l->initStatus(), RTM_OK);
    const rtm_str g1 = {reinterpret_cast<const uint8_t *>("g1"), 2};
    rtm_wk_ids ids{};
    ids.gids = &g1;
    ids.gids_len = 1;
    CHECK_ST(l->listenAdd(ids), RTM_OK);
    static uint8_t scratch[1024];
    for (int round = 0; round < 2; round++) {
        rtm_wk_webhook_result r{};
        CHECK_ST(l->webhook(1, "msg.notify", notify, sizeof notify - 1, scratch, sizeof scratch, r), RTM_OK);
        CHECK_EQ(r.status, 200);
        CHECK_EQ(round == 0 ? r.delivered : r.duplicates, 1);
    }
    CHECK_EQ(mon.seen.size(), 1);
    if (mon.seen.size() == 1) {
        CHECK(mon.seen[0].callback == "group_chat");
        CHECK(mon.seen[0].fromUid == "alice");
        CHECK_EQ(mon.seen[0].mid, INT64_C(1848213190224834560));
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s WUKONG_SIM_BINARY\n", argv[0]);
        return 2;
    }
    static const char *const plain[] = {"--plain", nullptr};
    webhook();
    session(argv[1], "C++ WkListener encrypted", nullptr);
    session(argv[1], "C++ WkListener plaintext", plain);
    return check_summary();
}
