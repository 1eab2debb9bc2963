// C++17 tests of include/rtm_listen.hpp in its default (zero-allocation) mode.
//
//   test_cpp <path to gate-sim>
//
// Covers: layout and the wrapper's type properties (non-copyable, non-movable, storage inline),
// the recorded Python SDK frames through rtm::Listener (views, answers), every push kind with
// the string_view views (translated chat, file info), the broadcast split by mtype, kickout,
// kickoutRoom, badPush, the listen commands with std::set and rtm_ids (completions), the limits
// of the set overloads, nextTimeout/reconnectAt, init failure, re-entry (RTM_ERR_BUSY),
// exceptions thrown by callbacks (kept from the library, rethrown after it returns), and a full
// session against `gate-sim --script demo`, plaintext and encrypted (Options::encryption,
// setEncryption's refusals). The adapter must not allocate: global operator new
// is replaced with a counter and malloc & co are wrapped (alloc_count.c), both read around the
// replay and the session.
#include <cstdio>
#include <cstdlib>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>

#define RTM_LISTEN_VIEWS
#include "rtm_listen.hpp"

#include "alloc_count.h"
#include "cpp_common.hpp"
#include "vectors.h"

// ---- layout and type properties, at compile time
static_assert(sizeof(rtm_listener) >= RTM_LISTENER_STORAGE, "storage size");
static_assert(alignof(rtm_listener) == RTM_LISTENER_ALIGN, "storage alignment");
static_assert(alignof(rtm::Listener) >= RTM_LISTENER_ALIGN, "wrapper alignment");
static_assert(sizeof(rtm::Listener) >= sizeof(rtm_listener), "storage is inline");
static_assert(!std::is_copy_constructible<rtm::Listener>::value, "non-copyable");
static_assert(!std::is_copy_assignable<rtm::Listener>::value, "non-copyable");
static_assert(!std::is_move_constructible<rtm::Listener>::value, "non-movable");
static_assert(!std::is_move_assignable<rtm::Listener>::value, "non-movable");
static_assert(std::is_same<decltype(rtm::RTMMessage::message), std::string_view>::value, "views");
static_assert(std::is_same<decltype(rtm::RTMMessage::translatedInfo), const rtm::TranslatedInfo *>::value, "view");
static_assert(std::is_same<decltype(rtm::RTMMessage::fileInfo), const rtm::FileInfo *>::value, "view");
static_assert(std::has_virtual_destructor<rtm::RTMServerPushMonitor>::value, "virtual destructor");

// ---- counting global operator new (the adapter must not use it in default mode)
// (GCC's -Wmismatched-new-delete flags free() inside these replacements: they are the allocator.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
static unsigned long g_news = 0;
void *operator new(std::size_t n) {
    g_news++;
    if (void *p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void *operator new[](std::size_t n) { return operator new(n); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
    g_news++;
    return std::malloc(n ? n : 1);
}
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept { return operator new(n, std::nothrow); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

enum Kind {
    K_CONNECTED, K_CONNECT_FAILED, K_CLOSED,
    K_P2P_MESSAGE, K_GROUP_MESSAGE, K_ROOM_MESSAGE, K_P2P_FILE, K_GROUP_FILE, K_ROOM_FILE,
    K_P2P_CHAT, K_P2P_AUDIO, K_P2P_CMD, K_GROUP_CHAT, K_GROUP_AUDIO, K_GROUP_CMD,
    K_ROOM_CHAT, K_ROOM_AUDIO, K_ROOM_CMD, K_EVENT, K_PING,
    K_B_MESSAGE, K_B_FILE, K_B_CHAT, K_B_AUDIO, K_B_CMD, K_KICKOUT, K_KICKOUT_ROOM,
    K_COMPLETED, K_RESTORED, K_BAD_PUSH, K_DISCONNECTED, K_COUNT
};

struct Msg {
    int64_t fromUid = 0, toId = 0, messageId = 0, modifiedTime = 0;
    int messageType = 0;
    Buf message, attrs;
    bool translated = false, file = false;
    Buf sourceLanguage, targetLanguage, sourceText, targetText;
    Buf url, surl, language, custom;
    int64_t size = 0, duration = 0;
    bool isRTMAudio = false, hasCustom = false;
    rtm_info_status infoStatus = RTM_INFO_NONE;
    bool lazy = false; // infoStatus was RTM_INFO_LAZY until loadInfo()
    // full lengths and FNV-1a hashes (the Bufs keep 320 bytes)
    size_t messageLen = 0, urlLen = 0, sourceTextLen = 0, targetTextLen = 0;
    uint32_t messageHash = 0, urlHash = 0, sourceTextHash = 0, targetTextHash = 0;
};

template <typename S>
uint32_t hashOf(const S &s) {
    return fnv1a(s.data(), s.size());
}

// Records every virtual; no allocation.
class Recorder : public rtm::RTMServerPushMonitor {
public:
    long counts[K_COUNT] = {};
    Msg last[K_COUNT];
    int order[512] = {};
    int64_t mids[512] = {};
    size_t norder = 0;
    bool reconnectFlags[16] = {};
    size_t nconnect = 0;
    Buf endpoint;
    int64_t evPid = 0, evUid = 0, evTime = 0;
    Buf evEvent, evEndpoint, evData;
    int64_t kickRid = 0;
    uint32_t doneId = 0;
    int64_t doneCode = -1;
    Buf doneEx;
    int64_t restoredCodes[8] = {};
    size_t nrestored = 0;
    Buf badMethod;
    int64_t badCode = 0;
    bool badTwoway = false;
    uint32_t badSeq = 0;
    size_t badLen = 0;
    Buf discEndpoint;
    rtm_close_reason discReason{};
    uint64_t discRetry = 0;
    // re-entry: when set, the next message callback calls into it
    rtm::Listener *reenter = nullptr;
    rtm::Status reenterSt[8] = {};
    size_t nreenter = 0;
    // exceptions: throw from push callbacks while > 0
    int throwCount = 0;

    void log(int k, int64_t mid = 0) {
        counts[k]++;
        if (norder < 512) {
            order[norder] = k;
            mids[norder] = mid;
            norder++;
        }
    }

    void msg(int k, const rtm::RTMMessage &m) {
        log(k, m.messageId);
        Msg &c = last[k];
        c = Msg();
        c.fromUid = m.fromUid;
        c.toId = m.toId;
        c.messageId = m.messageId;
        c.modifiedTime = m.modifiedTime;
        c.messageType = m.messageType;
        c.message.set(m.message);
        c.attrs.set(m.attrs);
        c.lazy = m.infoStatus == RTM_INFO_LAZY;
        c.infoStatus = m.loadInfo();
        CHECK_EQ(m.loadInfo(), c.infoStatus); // a second call changes nothing
        c.messageLen = m.message.size();
        c.messageHash = hashOf(m.message);
        if (m.translatedInfo) {
            c.sourceTextLen = m.translatedInfo->sourceText.size();
            c.targetTextLen = m.translatedInfo->targetText.size();
            c.sourceTextHash = hashOf(m.translatedInfo->sourceText);
            c.targetTextHash = hashOf(m.translatedInfo->targetText);
            c.translated = true;
            c.sourceLanguage.set(m.translatedInfo->sourceLanguage);
            c.targetLanguage.set(m.translatedInfo->targetLanguage);
            c.sourceText.set(m.translatedInfo->sourceText);
            c.targetText.set(m.translatedInfo->targetText);
        }
        if (m.fileInfo) {
            c.urlLen = m.fileInfo->url.size();
            c.urlHash = hashOf(m.fileInfo->url);
            c.file = true;
            c.url.set(m.fileInfo->url);
            c.surl.set(m.fileInfo->surl);
            c.language.set(m.fileInfo->language);
            c.custom.set(m.fileInfo->custom);
            c.size = m.fileInfo->size;
            c.duration = m.fileInfo->duration;
            c.isRTMAudio = m.fileInfo->isRTMAudio;
            c.hasCustom = m.fileInfo->hasCustom;
        }
        if (reenter) {
            rtm::Listener *l = reenter;
            reenter = nullptr;
            size_t consumed = 0;
            const uint8_t *d = nullptr;
            size_t n = 0;
            reenterSt[nreenter++] = l->handleTimeout(0);
            reenterSt[nreenter++] = l->receive(0, "x", 1, consumed);
            reenterSt[nreenter++] = l->transmit(d, n);
            reenterSt[nreenter++] = l->setListenAllAt(0, true, true, true, true);
            reenterSt[nreenter++] = l->closed(0, rtm::peerClosed());
        }
        if (throwCount > 0) {
            throwCount--;
            throw std::runtime_error("thrown by a callback");
        }
    }

    void connected(std::string_view ep, bool ok, bool isReconnect) override {
        log(ok ? K_CONNECTED : K_CONNECT_FAILED);
        endpoint.set(ep);
        if (ok && nconnect < 16) reconnectFlags[nconnect++] = isReconnect;
    }
    void closed(std::string_view ep, bool, bool) override {
        log(K_CLOSED);
        endpoint.set(ep);
    }
    void pushP2PMessage(const rtm::RTMMessage &m) override { msg(K_P2P_MESSAGE, m); }
    void pushGroupMessage(const rtm::RTMMessage &m) override { msg(K_GROUP_MESSAGE, m); }
    void pushRoomMessage(const rtm::RTMMessage &m) override { msg(K_ROOM_MESSAGE, m); }
    void pushP2PFile(const rtm::RTMMessage &m) override { msg(K_P2P_FILE, m); }
    void pushGroupFile(const rtm::RTMMessage &m) override { msg(K_GROUP_FILE, m); }
    void pushRoomFile(const rtm::RTMMessage &m) override { msg(K_ROOM_FILE, m); }
    void pushP2PChat(const rtm::RTMMessage &m) override { msg(K_P2P_CHAT, m); }
    void pushP2PAudio(const rtm::RTMMessage &m) override { msg(K_P2P_AUDIO, m); }
    void pushP2PCmd(const rtm::RTMMessage &m) override { msg(K_P2P_CMD, m); }
    void pushGroupChat(const rtm::RTMMessage &m) override { msg(K_GROUP_CHAT, m); }
    void pushGroupAudio(const rtm::RTMMessage &m) override { msg(K_GROUP_AUDIO, m); }
    void pushGroupCmd(const rtm::RTMMessage &m) override { msg(K_GROUP_CMD, m); }
    void pushRoomChat(const rtm::RTMMessage &m) override { msg(K_ROOM_CHAT, m); }
    void pushRoomAudio(const rtm::RTMMessage &m) override { msg(K_ROOM_AUDIO, m); }
    void pushRoomCmd(const rtm::RTMMessage &m) override { msg(K_ROOM_CMD, m); }
    void pushEvent(int64_t pid, std::string_view event, int64_t uid, int64_t time, std::string_view ep,
                   std::string_view data) override {
        log(K_EVENT);
        evPid = pid;
        evUid = uid;
        evTime = time;
        evEvent.set(event);
        evEndpoint.set(ep);
        evData.set(data);
    }
    void ping() override { log(K_PING); }
    void pushBroadcastMessage(const rtm::RTMMessage &m) override { msg(K_B_MESSAGE, m); }
    void pushBroadcastFile(const rtm::RTMMessage &m) override { msg(K_B_FILE, m); }
    void pushBroadcastChat(const rtm::RTMMessage &m) override { msg(K_B_CHAT, m); }
    void pushBroadcastAudio(const rtm::RTMMessage &m) override { msg(K_B_AUDIO, m); }
    void pushBroadcastCmd(const rtm::RTMMessage &m) override { msg(K_B_CMD, m); }
    void kickout() override { log(K_KICKOUT); }
    void kickoutRoom(int64_t rid) override {
        log(K_KICKOUT_ROOM);
        kickRid = rid;
    }
    void commandCompleted(uint32_t id, int64_t code, std::string_view ex) override {
        log(K_COMPLETED);
        doneId = id;
        doneCode = code;
        doneEx.set(ex);
    }
    void restored(int64_t code) override {
        log(K_RESTORED);
        if (nrestored < 8) restoredCodes[nrestored++] = code;
    }
    void badPush(std::string_view method, int64_t code, bool twoway, uint32_t seq, size_t frameLen) override {
        log(K_BAD_PUSH);
        badMethod.set(method);
        badCode = code;
        badTwoway = twoway;
        badSeq = seq;
        badLen = frameLen;
    }
    void disconnected(std::string_view ep, const rtm_close_reason &reason, uint64_t retryInMs) override {
        log(K_DISCONNECTED);
        discEndpoint.set(ep);
        discReason = reason;
        discRetry = retryInMs;
    }

    long messages() const {
        long n = 0;
        for (int k = K_P2P_MESSAGE; k <= K_ROOM_CMD; k++) n += counts[k];
        for (int k = K_B_MESSAGE; k <= K_B_CMD; k++) n += counts[k];
        return n;
    }
};

const int64_t FROM = 1002, MTIME = 1700000000000LL;

// ---------------------------------------------------------------- recorded frames

void testVectors() {
    check_group("C++: recorded frames through rtm::Listener");
    static uint8_t frame[512], want[64], tx[1024];
    for (size_t i = 0; i < RTM_VECTORS_LEN; i++) {
        const rtm_vector &v = RTM_VECTORS[i];
        size_t n = hex_decode(v.quest_hex, frame, sizeof frame), wn = hex_decode(v.answer_hex, want, sizeof want);
        Recorder r;
        rtm::Listener l(static_cast<uint32_t>(RTM_VECTOR_PID), RTM_VECTOR_SECRET, 7, r);
        CHECK_ST(l.initStatus(), RTM_OK);
        CHECK_ST(l.connected(0, "replay"), RTM_OK);
        CHECK_SV(r.endpoint, "replay");
        size_t txlen = 0;
        unsigned long news = g_news;
        CHECK_ST(feedAll(l, 1, frame, n, tx, sizeof tx, txlen), RTM_OK);
        CHECK_EQ(g_news - news, 0); // views: no allocation per push
        CHECK_EQ(txlen, 17);
        CHECK(wn == 17 && tx[4] == 1 && want[4] == 0);
        CHECK(std::memcmp(tx, want, 4) == 0 && std::memcmp(tx + 5, want + 5, 12) == 0);
        std::string_view cb(v.callback);
        if (cb == "push_p2p_chat" || cb == "push_group_cmd") {
            int k = cb == "push_p2p_chat" ? K_P2P_CHAT : K_GROUP_CMD;
            CHECK_EQ(r.counts[k], 1);
            const Msg &m = r.last[k];
            CHECK_EQ(m.fromUid, v.from_uid);
            CHECK_EQ(m.toId, v.to_id);
            CHECK_EQ(m.messageType, v.message_type);
            CHECK_EQ(m.messageId, v.message_id);
            CHECK_SV(m.message, v.message);
            CHECK_SV(m.attrs, v.attrs);
            CHECK_EQ(m.modifiedTime, v.modified_time);
            CHECK(!m.translated && !m.file);
        } else if (cb == "push_event") {
            CHECK_EQ(r.counts[K_EVENT], 1);
            CHECK_EQ(r.evPid, v.pid);
            CHECK_SV(r.evEvent, v.event);
            CHECK_EQ(r.evUid, v.uid);
            CHECK_EQ(r.evTime, v.time);
            CHECK_SV(r.evEndpoint, v.endpoint);
            CHECK_SV(r.evData, v.data);
        } else {
            CHECK(cb == "ping");
            CHECK_EQ(r.counts[K_PING], 1);
        }
        CHECK_EQ(r.messages() + r.counts[K_EVENT] + r.counts[K_PING], 1);
    }
}

// ---------------------------------------------------------------- every kind, views

void testKinds() {
    check_group("C++: every push kind, views");
    static uint8_t buf[16384], tx[8192];
    static const uint8_t audio[3] = {9, 0, 9};
    Recorder r;
    rtm::Listener l(1, "secret", 7, r);
    CHECK(static_cast<bool>(l));
    CHECK_ST(l.connected(0), RTM_OK);
    size_t n = 0, txlen = 0, errors = 0;
    uint32_t seq = 1;
    const push_target targets[3] = {TO_P2P, TO_GROUP, TO_ROOM};
    const int64_t to[3] = {1001, 2001, 3001};
    for (int t = 0; t < 3; t++) {
        int64_t base = 100 * (t + 1);
        n += push_text(buf + n, sizeof buf - n, seq++, targets[t], FROM, to[t], base + 1, 30, "chat", "", MTIME);
        n += push_message(buf + n, sizeof buf - n, seq++, targets[t], FROM, to[t], base + 2, 31, audio, 3, 1, "",
                          MTIME);
        n += push_text(buf + n, sizeof buf - n, seq++, targets[t], FROM, to[t], base + 3, 32, "cmd", "", MTIME);
        n += push_text(buf + n, sizeof buf - n, seq++, targets[t], FROM, to[t], base + 4, 42,
                       "{\"url\":\"http://v/1\",\"size\":9}", "{\"rtm\":{},\"custom\":{\"x\":1}}", MTIME);
        n += push_text(buf + n, sizeof buf - n, seq++, targets[t], FROM, to[t], base + 5, 3, "msg", "", MTIME);
    }
    // translated group chat; broadcasts of each category; kickouts; an unknown method
    n += push_text(buf + n, sizeof buf - n, seq++, TO_GROUP, FROM, 2001, 250, 30,
                   "{\"source\":\"en\",\"target\":\"de\",\"sourceText\":\"hi\",\"targetText\":\"\"}", "", MTIME);
    n += push_text(buf + n, sizeof buf - n, seq++, TO_BROADCAST, FROM, 0, 401, 30, "b chat", "", MTIME);
    n += push_message(buf + n, sizeof buf - n, seq++, TO_BROADCAST, FROM, 0, 402, 31, audio, 3, 1, "", MTIME);
    n += push_text(buf + n, sizeof buf - n, seq++, TO_BROADCAST, FROM, 0, 403, 32, "b cmd", "", MTIME);
    n += push_text(buf + n, sizeof buf - n, seq++, TO_BROADCAST, FROM, 0, 404, 40,
                   "{\"url\":\"http://b/i\",\"size\":1,\"surl\":\"http://b/t\"}", "{}", MTIME);
    n += push_text(buf + n, sizeof buf - n, seq++, TO_BROADCAST, FROM, 0, 405, 99, "b msg", "", MTIME);
    n += push_kickout_room(buf + n, sizeof buf - n, seq++, 3001);
    n += push_empty(buf + n, sizeof buf - n, seq++, "kickout");
    n += push_empty(buf + n, sizeof buf - n, seq++, "pushwhatever");
    CHECK(n > 0 && n < sizeof buf);

    unsigned long news = g_news, mallocs = alloc_calls();
    CHECK_ST(feedAll(l, 1, buf, n, tx, sizeof tx, txlen), RTM_OK);
    CHECK_EQ(g_news - news, 0);
    CHECK_EQ(alloc_calls() - mallocs, 0);

    const int chat[3] = {K_P2P_CHAT, K_GROUP_CHAT, K_ROOM_CHAT}, aud[3] = {K_P2P_AUDIO, K_GROUP_AUDIO, K_ROOM_AUDIO},
              cmd[3] = {K_P2P_CMD, K_GROUP_CMD, K_ROOM_CMD}, file[3] = {K_P2P_FILE, K_GROUP_FILE, K_ROOM_FILE},
              gen[3] = {K_P2P_MESSAGE, K_GROUP_MESSAGE, K_ROOM_MESSAGE};
    for (int t = 0; t < 3; t++) {
        int64_t base = 100 * (t + 1);
        CHECK_EQ(r.counts[chat[t]], t == 1 ? 2 : 1);
        CHECK_EQ(r.counts[aud[t]], 1);
        CHECK_EQ(r.counts[cmd[t]], 1);
        CHECK_EQ(r.counts[file[t]], 1);
        CHECK_EQ(r.counts[gen[t]], 1);
        CHECK_EQ(r.last[aud[t]].messageId, base + 2);
        CHECK_MEM(r.last[aud[t]].message.b, r.last[aud[t]].message.n, audio, 3);
        CHECK_SV(r.last[cmd[t]].message, "cmd");
        CHECK_EQ(r.last[cmd[t]].toId, to[t]);
        const Msg &f = r.last[file[t]];
        CHECK(f.file && !f.translated);
        CHECK_SV(f.url, "http://v/1");
        CHECK_EQ(f.size, 9);
        CHECK(!f.isRTMAudio && f.hasCustom);
        CHECK_SV(f.custom, "{\"x\":1}");
        CHECK_SV(f.message, "{\"url\":\"http://v/1\",\"size\":9}"); // default mode: as received
        CHECK_SV(f.attrs, "{\"rtm\":{},\"custom\":{\"x\":1}}");
        CHECK_SV(r.last[gen[t]].message, "msg");
        CHECK_EQ(r.last[gen[t]].messageType, 3);
    }
    const Msg &tr = r.last[K_GROUP_CHAT];
    CHECK_EQ(tr.messageId, 250);
    CHECK(tr.translated && !tr.file);
    CHECK_SV(tr.sourceLanguage, "en");
    CHECK_SV(tr.targetLanguage, "de");
    CHECK_SV(tr.sourceText, "hi");
    CHECK_SV(tr.targetText, "");
    CHECK(!r.last[K_P2P_CHAT].translated);
    // broadcasts, split by mtype
    CHECK_EQ(r.counts[K_B_CHAT], 1);
    CHECK_EQ(r.counts[K_B_AUDIO], 1);
    CHECK_EQ(r.counts[K_B_CMD], 1);
    CHECK_EQ(r.counts[K_B_FILE], 1);
    CHECK_EQ(r.counts[K_B_MESSAGE], 1);
    CHECK_SV(r.last[K_B_CHAT].message, "b chat");
    CHECK_EQ(r.last[K_B_AUDIO].messageType, 31);
    CHECK_SV(r.last[K_B_CMD].message, "b cmd");
    CHECK(r.last[K_B_FILE].file);
    CHECK_SV(r.last[K_B_FILE].surl, "http://b/t");
    CHECK_EQ(r.last[K_B_MESSAGE].messageType, 99);
    CHECK_EQ(r.last[K_B_MESSAGE].toId, 0);
    CHECK_EQ(r.counts[K_KICKOUT_ROOM], 1);
    CHECK_EQ(r.kickRid, 3001);
    CHECK_EQ(r.counts[K_KICKOUT], 1);
    CHECK_EQ(r.counts[K_BAD_PUSH], 1);
    CHECK_SV(r.badMethod, "pushwhatever");
    CHECK_EQ(r.badCode, 20004);
    CHECK_EQ(countAnswers(tx, txlen, &errors), seq - 1);
    CHECK_EQ(errors, 1);
}

// ---------------------------------------------------------------- commands through the wrapper

void testCommands() {
    check_group("C++: listen commands, timers, init failure, re-entry");
    static uint8_t tx[4096], a[64];
    Recorder r;
    rtm::Listener l(1000001, "sim-secret", 7, r);
    CHECK(!l.nextTimeout().has_value());
    CHECK(!l.reconnectAt().has_value());
    CHECK_ST(l.connected(100, "ep"), RTM_OK);
    CHECK(l.nextTimeout().has_value() && *l.nextTimeout() <= 100 + 20000);
    CHECK(!l.reconnectAt().has_value());
    size_t txlen = 0;
    uint32_t id = 0;

    // std::set overload
    CHECK_ST(l.addListenAt(100, std::set<int64_t>{2001}, std::set<int64_t>{3001}, std::set<int64_t>{1001},
                         std::set<std::string>{"login", "logout"}, &id),
             RTM_OK);
    CHECK(id != 0);
    drainTx(l, tx, sizeof tx, txlen);
    uint32_t seq = questSeq(tx, txlen, "setlisten"); // always setlisten, from the desired state
    CHECK(seq != 0);
    size_t k = answer_ok(a, sizeof a, seq);
    CHECK_ST(feedAll(l, 110, a, k, tx, sizeof tx, txlen), RTM_OK);
    CHECK_EQ(r.counts[K_COMPLETED], 1);
    CHECK_EQ(r.doneId, id);
    CHECK_EQ(r.doneCode, 0);
    CHECK(l.inSync());
    rtm_listen_state state{};
    CHECK_ST(l.listenState(RTM_LISTEN_CONFIRMED, state), RTM_OK);
    CHECK(state.gids == 1 && state.rids == 1 && state.uids == 1 && state.login && state.logout);

    // rtm_ids overload: removing an id; the server refuses the new state
    int64_t gid = 2001;
    rtm_ids ids{};
    ids.gids = &gid;
    ids.gids_len = 1;
    txlen = 0;
    CHECK_ST(l.removeListenAt(120, ids, &id), RTM_OK);
    drainTx(l, tx, sizeof tx, txlen);
    seq = questSeq(tx, txlen, "setlisten");
    CHECK(seq != 0);
    k = answer_error(a, sizeof a, seq, 200034, "bad");
    CHECK_ST(feedAll(l, 130, a, k, tx, sizeof tx, txlen), RTM_OK);
    CHECK_EQ(r.doneId, id);
    CHECK_EQ(r.doneCode, 200034);
    CHECK_SV(r.doneEx, "bad");
    CHECK(!l.inSync());
    CHECK_ST(l.listenState(RTM_LISTEN_DESIRED, state), RTM_OK);
    CHECK_EQ(state.gids, 0); // the desired state is never rolled back
    CHECK_ST(l.listenState(RTM_LISTEN_CONFIRMED, state), RTM_OK);
    CHECK_EQ(state.gids, 1);
    rtm_stats st{};
    CHECK_ST(l.stats(st), RTM_OK);
    CHECK_EQ(st.refusals, 1);
    CHECK_EQ(st.connections, 1);
    txlen = 0;
    CHECK_ST(l.setListenAllAt(140, true, false, true, false, &id), RTM_OK);
    CHECK_ST(l.setListenAt(140, ids), RTM_OK); // request id is optional
    drainTx(l, tx, sizeof tx, txlen);
    CHECK(questSeq(tx, txlen, "setlisten") != 0);

    // limits of the set overloads, and errors from the library
    std::set<int64_t> big;
    for (int64_t i = 0; i < RTM_LISTEN_HPP_MAX_SET_IDS + 1; i++) big.insert(i);
    CHECK_ST(l.addListenAt(150, big, {}, {}, {}), RTM_ERR_TOO_MANY_IDS);
    std::set<int64_t> s65;
    for (int64_t i = 0; i < 65; i++) s65.insert(i);
    CHECK_ST(l.setListenAt(150, {}, {}, s65, {}), RTM_ERR_TOO_MANY_IDS);
    CHECK_ST(l.addListenAt(150, {}, {}, {}, {"login", "logout", "typing"}), RTM_ERR_UNSUPPORTED_EVENT);
    CHECK_ST(l.addListenAt(150, {}, {}, {}, {"typing"}), RTM_ERR_UNSUPPORTED_EVENT);
    CHECK_ST(l.transmitDone(1 << 20), RTM_ERR_INVALID_ARG);
    CHECK(l.transmit().size() == 0);

    // closed: the commands stay pending (kept for the next connection), reconnect advice
    CHECK_ST(l.setListenAllAt(160, false, false, false, true, &id), RTM_OK);
    long completed = r.counts[K_COMPLETED];
    CHECK_EQ(l.pendingCommands(), 3);
    CHECK_ST(l.closed(170, rtm::ioError(RTM_IO_CONNECTION_RESET, 104)), RTM_OK);
    CHECK_EQ(r.counts[K_COMPLETED], completed);
    CHECK_EQ(l.pendingCommands(), 3);
    CHECK_EQ(r.counts[K_DISCONNECTED], 1);
    CHECK_SV(r.discEndpoint, "ep");
    CHECK_EQ(r.discReason.kind, RTM_REASON_IO);
    CHECK_EQ(r.discReason.io_kind, RTM_IO_CONNECTION_RESET);
    CHECK_EQ(r.discReason.os_error, 104);
    CHECK(l.reconnectAt().has_value() && *l.reconnectAt() == 170 + r.discRetry);
    CHECK_ST(l.connectFailed(180, "ep-tried", rtm::ioError(RTM_IO_CONNECTION_REFUSED, 111)), RTM_OK);
    CHECK_EQ(r.counts[K_CONNECT_FAILED], 1);
    CHECK_SV(r.endpoint, "ep-tried");
    CHECK_EQ(r.counts[K_DISCONNECTED], 2);
    CHECK_SV(r.discEndpoint, "ep-tried");
    CHECK_EQ(r.discReason.io_kind, RTM_IO_CONNECTION_REFUSED);
    CHECK(std::string_view(rtm::reasonString(r.discReason)) == "connection refused");
    // the restoration on reconnect: flags, then ids, one quest at a time; every pending command
    // completes with 0
    CHECK_ST(l.connected(200, "ep2"), RTM_OK);
    CHECK_EQ(r.nconnect, 2);
    CHECK(!r.reconnectFlags[0] && r.reconnectFlags[1]);
    CHECK_EQ(answerQuests(l, 210), 2);
    CHECK_EQ(r.counts[K_RESTORED], 1);
    CHECK_EQ(r.restoredCodes[0], 0);
    CHECK_EQ(r.counts[K_COMPLETED], completed + 3);
    CHECK_EQ(r.doneCode, 0);
    CHECK_EQ(l.pendingCommands(), 0);
    CHECK(l.inSync());

    // re-entry from a C++ callback: BUSY, and the wrapper is intact afterwards
    {
        uint8_t frame[256];
        size_t fn = push_text(frame, sizeof frame, 77, TO_P2P, FROM, 1001, 9001, 30, "re", "", MTIME);
        r.reenter = &l;
        txlen = 0;
        CHECK_ST(feedAll(l, 220, frame, fn, tx, sizeof tx, txlen), RTM_OK);
        CHECK_EQ(r.nreenter, 5);
        for (size_t i = 0; i < r.nreenter; i++) CHECK_ST(r.reenterSt[i], RTM_ERR_BUSY);
        CHECK_EQ(countAnswers(tx, txlen), 1);
        CHECK_ST(l.handleTimeout(230), RTM_OK);
    }

    // init failure: every call is refused with UNINIT
    {
        Recorder r2;
        std::string longSecret(65, 's');
        rtm::Listener bad(1, longSecret, 0, r2);
        CHECK_ST(bad.initStatus(), RTM_ERR_SECRET_TOO_LONG);
        CHECK(!bad);
        CHECK_ST(bad.connected(0), RTM_ERR_UNINIT);
        CHECK_ST(bad.setListenAllAt(0, true, true, true, true), RTM_ERR_UNINIT);
        CHECK(!bad.nextTimeout().has_value());
        CHECK_EQ(r2.norder, 0);
        rtm::Listener ok64(1, std::string(64, 's'), 0, r2);
        CHECK_ST(ok64.initStatus(), RTM_OK);
    }
}

// ---------------------------------------------------------------- exceptions from callbacks

void testExceptions() {
    check_group("C++: exceptions thrown by callbacks");
    static uint8_t buf[1024], tx[1024];
    Recorder r;
    rtm::Listener l(1, "s", 7, r);
    CHECK_ST(l.connected(0), RTM_OK);
    size_t n = 0, txlen = 0;
    n += push_text(buf + n, sizeof buf - n, 1, TO_P2P, FROM, 1001, 1, 30, "one", "", MTIME);
    n += push_text(buf + n, sizeof buf - n, 2, TO_P2P, FROM, 1001, 2, 30, "two", "", MTIME);
    r.throwCount = 2; // both callbacks throw
    bool caught = false;
    size_t consumed = 0;
    try {
        l.receive(1, buf, n, consumed);
    } catch (const std::runtime_error &e) {
        caught = std::string(e.what()) == "thrown by a callback";
    }
    CHECK(caught);
    CHECK_EQ(r.counts[K_P2P_CHAT], 2); // the second callback still ran
    drainTx(l, tx, sizeof tx, txlen);
    CHECK_EQ(countAnswers(tx, txlen), 2); // both pushes answered
    // the listener is not left busy, and the exception is not thrown twice
    CHECK_ST(l.handleTimeout(2), RTM_OK);
    uint8_t third[128];
    size_t tn = push_text(third, sizeof third, 3, TO_P2P, FROM, 1001, 3, 30, "three", "", MTIME);
    txlen = 0;
    CHECK_ST(feedAll(l, 3, third, tn, tx, sizeof tx, txlen), RTM_OK);
    CHECK_EQ(r.counts[K_P2P_CHAT], 3);
}

// ---------------------------------------------------------------- buffer sizes and JSON info

void testBuffers() {
    check_group("C++: buffer sizes (rtm::Buffers, rtm::Options), big pushes, long JSON info");
    static rtm::Buffers<65536, 4096> buffers; // lent to one listener: static, outlives it
    static char text[60 * 1024 + 1];
    static uint8_t in[140 * 1024], tx[8192];
    for (size_t i = 0; i < 60 * 1024; i++) text[i] = static_cast<char>('A' + i % 26);
    size_t bigLen = push_text(in, sizeof in, 1, TO_GROUP, FROM, 2001, 11, 32, text, "", MTIME);
    size_t n = bigLen + push_text(in + bigLen, sizeof in - bigLen, 2, TO_GROUP, FROM, 2001, 12, 32, "after", "", MTIME);
    unsigned long news = g_news, mallocs = alloc_calls();
    {
        // 64 KiB RX: the 60 KiB command arrives whole
        Recorder r;
        rtm::Listener l(1, "s", 7, r, buffers.options());
        CHECK_ST(l.initStatus(), RTM_OK);
        CHECK_ST(l.connected(0, "big"), RTM_OK);
        size_t txlen = 0, errors = 0;
        CHECK_ST(feedAll(l, 1, in, bigLen, tx, sizeof tx, txlen), RTM_OK);
        CHECK_EQ(r.counts[K_GROUP_CMD], 1);
        CHECK_EQ(r.last[K_GROUP_CMD].messageLen, 60 * 1024);
        CHECK_EQ(r.last[K_GROUP_CMD].messageHash, fnv1a(text, 60 * 1024));
        CHECK_ST(feedAll(l, 2, in + bigLen, n - bigLen, tx, sizeof tx, txlen), RTM_OK);
        CHECK_EQ(r.counts[K_GROUP_CMD], 2);
        CHECK_EQ(r.counts[K_BAD_PUSH], 0);
        CHECK_EQ(countAnswers(tx, txlen, &errors), 2);
        CHECK_EQ(errors, 0);
    }
    {
        // the default 4 KiB RX: reported to badPush with its seq and length, the next delivered
        Recorder r;
        rtm::Listener l(1, "s", 7, r);
        CHECK_ST(l.connected(0, "small"), RTM_OK);
        size_t txlen = 0, errors = 0;
        CHECK_ST(feedAll(l, 1, in, n, tx, sizeof tx, txlen), RTM_OK);
        CHECK_EQ(r.counts[K_BAD_PUSH], 1);
        CHECK_SV(r.badMethod, "pushgroupmsg");
        CHECK_EQ(r.badCode, 10002);
        CHECK(r.badTwoway);
        CHECK_EQ(r.badSeq, 1);
        CHECK_EQ(r.badLen, bigLen);
        CHECK_EQ(r.counts[K_GROUP_CMD], 1);
        CHECK_SV(r.last[K_GROUP_CMD].message, "after");
        CHECK_EQ(countAnswers(tx, txlen, &errors), 2);
        CHECK_EQ(errors, 1);
        rtm_stats st{};
        CHECK_ST(l.stats(st), RTM_OK);
        CHECK_EQ(st.oversized, 1);
    }
    {
        // too small: refused at construction, every call then RTM_ERR_UNINIT
        Recorder r;
        rtm::Options o = buffers.options();
        o.bufferLen = RTM_BUFFER_SIZE(65536, 4096) - 1;
        rtm::Listener l(1, "s", 7, r, o);
        CHECK_ST(l.initStatus(), RTM_ERR_BUFFER_TOO_SMALL);
        CHECK_ST(l.connected(0), RTM_ERR_UNINIT);
        rtm::Options inline_{};
        inline_.rxSize = 16;
        rtm::Listener l2(1, "s", 7, r, inline_);
        CHECK_ST(l2.initStatus(), RTM_ERR_BUFFER_TOO_SMALL);
        inline_.rxSize = 2048; // any sizes that fit the inline area
        inline_.txSize = 2048;
        rtm::Listener l3(1, "s", 7, r, inline_);
        CHECK_ST(l3.initStatus(), RTM_OK);
    }
    for (bool lazy : {false, true}) {
        // JSON info longer than any fixed stack scratch: 60 + 60 escaped CJK characters, a
        // 2 KiB URL with escaped slashes, in the default 4 KiB RX; parsed before the callback,
        // and with Options::lazyInfo when the callback asks (RTMMessage::loadInfo)
        static char src[361], tgt[361], src8[181], tgt8[181], json[1024], url[2049], urlEsc[4200], file[4400];
        cjk_escaped(src, src8, 60, 0);
        cjk_escaped(tgt, tgt8, 60, 500);
        std::snprintf(json, sizeof json,
                      "{\"source\":\"zh\",\"target\":\"ko\",\"sourceText\":\"%s\",\"targetText\":\"%s\"}", src, tgt);
        long_url(url, urlEsc, 2048);
        std::snprintf(file, sizeof file, "{\"url\":\"%s\",\"size\":1}", urlEsc);
        Recorder r;
        rtm::Options o{};
        o.lazyInfo = lazy;
        rtm::Listener l(1, "s", 7, r, o);
        CHECK_ST(l.connected(0, "json"), RTM_OK);
        size_t k = push_text(in, sizeof in, 1, TO_ROOM, FROM, 3001, 21, 30, json, "", MTIME);
        k += push_text(in + k, sizeof in - k, 2, TO_ROOM, FROM, 3001, 22, 45, file, "", MTIME);
        k += push_text(in + k, sizeof in - k, 3, TO_ROOM, FROM, 3001, 23, 45, "{\"url\":", "", MTIME);
        size_t txlen = 0;
        CHECK_ST(feedAll(l, 1, in, k, tx, sizeof tx, txlen), RTM_OK);
        const Msg &t = r.last[K_ROOM_CHAT];
        CHECK(t.translated);
        CHECK_EQ(t.lazy, lazy);
        CHECK_EQ(t.infoStatus, RTM_INFO_OK);
        CHECK_EQ(t.sourceTextLen, 180);
        CHECK_EQ(t.targetTextLen, 180);
        CHECK_EQ(t.sourceTextHash, fnv1a(src8, 180));
        CHECK_EQ(t.targetTextHash, fnv1a(tgt8, 180));
        CHECK_EQ(r.counts[K_ROOM_FILE], 2);
        CHECK_EQ(r.last[K_ROOM_FILE].messageId, 23); // the malformed one, delivered as received
        CHECK(!r.last[K_ROOM_FILE].file);
        CHECK_EQ(r.last[K_ROOM_FILE].lazy, lazy);
        CHECK_EQ(r.last[K_ROOM_FILE].infoStatus, RTM_INFO_SYNTAX);
        CHECK_SV(r.last[K_ROOM_FILE].message, "{\"url\":");
        // the 2 KiB URL: replay it alone
        k = push_text(in, sizeof in, 4, TO_ROOM, FROM, 3001, 24, 45, file, "", MTIME);
        CHECK(k < 4096);
        CHECK_ST(feedAll(l, 2, in, k, tx, sizeof tx, txlen), RTM_OK);
        const Msg &f = r.last[K_ROOM_FILE];
        CHECK_EQ(f.messageId, 24);
        CHECK(f.file);
        CHECK_EQ(f.lazy, lazy);
        CHECK_EQ(f.infoStatus, RTM_INFO_OK);
        CHECK_EQ(f.urlLen, 2048);
        CHECK_EQ(f.urlHash, fnv1a(url, 2048));
    }
    CHECK_EQ(g_news - news, 0); // no allocation, big buffers included
    CHECK_EQ(alloc_calls() - mallocs, 0);
}

// ---------------------------------------------------------------- gate simulator

void testGateSim(const char *gateSim) {
    check_group("C++: gate-sim --script demo through rtm::Listener");
    sim_proc sim;
    if (!CHECK(sim_start(&sim, gateSim, "demo") == 0)) return;
    Recorder r;
    rtm::Listener l(1000001, "sim-secret", 0x5eed, r);
    std::set<int64_t> gids{2001}, rids{3001}, uids{1001};
    std::set<std::string> events{"login"};
    unsigned long news = g_news, mallocs = alloc_calls();
    int connections = 0;
    uint32_t id = 0;
    // connect first, then listen (the C test queues the command before connecting)
    CHECK_ST(l.setListenAt(mono_ms(), gids, rids, uids, events, &id), RTM_OK);
    connections = runSession(l, sim, 30000);
    CHECK_EQ(g_news - news, 0);
    CHECK_EQ(alloc_calls() - mallocs, 0);
    int code = sim_finish(&sim, 5000);
    CHECK_EQ(code, 0);
    CHECK(std::strcmp(sim.line, "SCRIPT OK pushes=22 answered=21 reconnects=1") == 0);
    CHECK(connections >= 2);
    CHECK_EQ(r.counts[K_CONNECTED], connections);
    CHECK(!r.reconnectFlags[0] && r.reconnectFlags[1]);
    CHECK_EQ(r.counts[K_COMPLETED], 1);
    CHECK_EQ(r.doneId, id);
    CHECK_EQ(r.doneCode, 0);
    CHECK_EQ(r.restoredCodes[0], 0);
    CHECK_EQ(r.counts[K_P2P_CHAT], 2);
    CHECK_EQ(r.counts[K_GROUP_CHAT], 3);
    CHECK_EQ(r.counts[K_ROOM_CHAT], 2);
    for (int k : {K_P2P_AUDIO, K_GROUP_AUDIO, K_ROOM_AUDIO, K_P2P_CMD, K_GROUP_CMD, K_ROOM_CMD, K_P2P_FILE,
                  K_GROUP_FILE, K_ROOM_FILE, K_P2P_MESSAGE, K_GROUP_MESSAGE, K_ROOM_MESSAGE, K_EVENT, K_PING})
        CHECK_EQ(r.counts[k], 1);
    CHECK_EQ(r.messages(), 19);
    // every close and failed attempt came with its reason
    CHECK_EQ(r.counts[K_DISCONNECTED], r.counts[K_CLOSED] + r.counts[K_CONNECT_FAILED]);
    CHECK(r.counts[K_CLOSED] >= 1);
    CHECK_SV(r.last[K_ROOM_CHAT].message, "after reconnect");
    CHECK_EQ(r.last[K_ROOM_CHAT].messageId, 306);
    CHECK(r.last[K_P2P_FILE].file && r.last[K_P2P_FILE].isRTMAudio);
    CHECK_SV(r.last[K_P2P_FILE].custom, "{\"k\":\"v\"}");
    CHECK_EQ(r.last[K_P2P_FILE].duration, 3000);
    CHECK_SV(r.last[K_GROUP_FILE].surl, "http://127.0.0.1/f/204s.png");
    CHECK_SV(r.evEvent, "login");
    CHECK_EQ(r.evPid, 1000001);
    CHECK_SV(r.evData, "demo");
}

// The demo encrypted through rtm::Listener: Options::encryption (rtm::encryption()) with the PEM
// key gate-sim writes, stream mode, AES-256, on secp256r1; the simulator refuses plaintext
// listens. setEncryption refusals leave the listener as it was; no allocation.
void testGateSimEncrypted(const char *gateSim) {
    check_group("C++: gate-sim --script demo encrypted through rtm::Listener");
    char dir[] = "/tmp/rtm-ffi-cpp-XXXXXX";
    if (!CHECK(mkdtemp(dir) != nullptr)) return;
    char path[64];
    std::snprintf(path, sizeof path, "%s/server.pem", dir);
    const char *args[] = {"--curve", "secp256r1", "--private-key", "0x1f2e3d4c5b6a79880123456789abcdef",
                          "--write-public-key", path, "--force-encrypt", nullptr};
    sim_proc sim;
    int started = sim_start_args(&sim, gateSim, "demo", args);
    static uint8_t key[512];
    size_t keyLen = read_file(path, key, sizeof key);
    unlink(path);
    rmdir(dir);
    if (!CHECK(started == 0) || !CHECK(keyLen > 0)) return;
    uint8_t entropy[RTM_MIN_ENTROPY];
    CHECK(os_entropy(entropy, sizeof entropy) == 0);
    rtm::Options o;
    o.encryption = rtm::encryption(rtm::Bytes(reinterpret_cast<const char *>(key), keyLen), RTM_KEY_PEM, nullptr,
                                   false, true, rtm::Bytes(reinterpret_cast<const char *>(entropy), sizeof entropy));
    Recorder r;
    std::set<int64_t> gids{2001}, rids{3001}, uids{1001};
    std::set<std::string> events{"login"};
    unsigned long news = g_news, mallocs = alloc_calls();
    rtm::Listener l(1000001, "sim-secret", 0x5eed, r, o);
    CHECK_ST(l.initStatus(), RTM_OK);
    // refusals change nothing: a key cut short, a curve name for a PEM key on another curve
    rtm_encryption bad = o.encryption;
    bad.server_key_len = keyLen / 2;
    CHECK_ST(l.setEncryption(bad), RTM_ERR_KEY_BAD_PEM);
    bad = o.encryption;
    bad.curve = "secp256k1";
    CHECK_ST(l.setEncryption(bad), RTM_ERR_KEY_CURVE_MISMATCH);
    bad = o.encryption;
    bad.entropy_len = 8;
    CHECK_ST(l.setEncryption(bad), RTM_ERR_SHORT_ENTROPY);
    CHECK_ST(l.addEntropy(entropy, sizeof entropy), RTM_OK);
    uint32_t id = 0;
    CHECK_ST(l.setListenAt(mono_ms(), gids, rids, uids, events, &id), RTM_OK);
    int connections = runSession(l, sim, 30000);
    CHECK_EQ(g_news - news, 0);
    CHECK_EQ(alloc_calls() - mallocs, 0);
    CHECK_EQ(sim_finish(&sim, 5000), 0);
    CHECK(std::strcmp(sim.line, "SCRIPT OK pushes=22 answered=21 reconnects=1") == 0);
    CHECK(connections >= 2);
    CHECK_EQ(r.counts[K_P2P_CHAT], 2);
    CHECK_EQ(r.counts[K_GROUP_CHAT], 3);
    CHECK_EQ(r.counts[K_ROOM_CHAT], 2);
    CHECK_EQ(r.messages(), 19);
    CHECK_EQ(r.doneCode, 0);
    rtm_stats st{};
    CHECK_ST(l.stats(st), RTM_OK);
    CHECK(st.key_exchanges >= 2);
    CHECK_EQ(st.key_exchanges + st.key_exchange_failures, static_cast<uint64_t>(connections));
    // off again: the next connection sends nothing before its listens (no *key)
    CHECK_ST(l.disableEncryption(), RTM_OK);
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s <path to gate-sim>\n", argv[0]);
        return 2;
    }
    // positive controls: both counters really see allocations made from this binary
    check_group("C++: allocation counters");
    unsigned long news = g_news, mallocs = alloc_calls();
    int *volatile p = new int(1);
    delete p;
    void *volatile q = std::malloc(8);
    std::free(q);
    CHECK_EQ(g_news - news, 1);
    CHECK_EQ(alloc_calls() - mallocs, 4); // operator new/delete above use malloc/free too
    CHECK(rtm_listener_size() <= sizeof(rtm_listener));

    testVectors();
    testKinds();
    testCommands();
    testExceptions();
    testBuffers();
    testGateSim(argv[1]);
    testGateSimEncrypted(argv[1]);
    return check_summary();
}
