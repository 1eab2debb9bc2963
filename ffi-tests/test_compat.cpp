// C++17 tests of include/rtm_listen.hpp with the official types (the default, no define), with
// the official SDK's MyMonitor example compiled unchanged.
//
//   test_compat <path to gate-sim>
//
// Built with -Woverloaded-virtual -Werror: if any MyMonitor method's signature differed from
// the adapter's virtual, it would hide it instead of overriding it, and the build would fail.
// scripts/ffi-tests.sh also builds this file with -DRTM_FFI_TESTS_NATIVE_CONTROL (the
// RTM_LISTEN_VIEWS flavour, where the official signatures are final) and requires that build to
// fail with "overriding final function" for each of MyMonitor's 15 non-ping virtuals: official
// code compiled in the views flavour cannot become a monitor whose callbacks are never called.
//
// Covers: the official signatures (static_assert on member-function types) and field types;
// a plain MyMonitor receiving every push kind (all answered); a recorder derived from MyMonitor
// checking each callback's fields with the official semantics (translated chat: message =
// targetText, else sourceText; file: message cleared, attrs = custom when present); messages
// that own their data after the callback; pushEvent's int32 pid/time; a session against
// `gate-sim --script demo`.
#ifdef RTM_FFI_TESTS_NATIVE_CONTROL
#define RTM_LISTEN_VIEWS
#endif
#include "rtm_listen.hpp"

#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "cpp_common.hpp"

using namespace rtm;
using namespace std;

// The official example (/work/shared/seeds/rtm-server-cpp-push-monitor.md), verbatim. Its
// empty bodies leave named parameters unused, hence the pragma.
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

#ifdef RTM_FFI_TESTS_NATIVE_CONTROL
// RTM_LISTEN_VIEWS: this build must fail (MyMonitor overrides the final official signatures).
int main() {
    MyMonitor m;
    (void)m;
    return 0;
}
#else

// ---- the official signatures and field types
using M = RTMServerPushMonitor;
static_assert(is_same<decltype(&M::connected), void (M::*)(const string &, bool, bool)>::value, "connected");
static_assert(is_same<decltype(&M::closed), void (M::*)(const string &, bool, bool)>::value, "closed");
static_assert(is_same<decltype(&M::pushP2PMessage), void (M::*)(RTMMessage)>::value, "pushP2PMessage");
static_assert(is_same<decltype(&M::pushRoomAudio), void (M::*)(RTMMessage)>::value, "pushRoomAudio");
static_assert(is_same<decltype(&M::pushEvent), void (M::*)(int32_t, const string &, int64_t, int32_t, const string &,
                                                           const string &)>::value,
              "pushEvent");
static_assert(is_same<decltype(&M::ping), void (M::*)()>::value, "ping");
static_assert(is_same<decltype(RTMMessage::fromUid), int64_t>::value, "fromUid");
static_assert(is_same<decltype(RTMMessage::toId), int64_t>::value, "toId");
static_assert(is_same<decltype(RTMMessage::messageType), int8_t>::value, "messageType");
static_assert(is_same<decltype(RTMMessage::messageId), int64_t>::value, "messageId");
static_assert(is_same<decltype(RTMMessage::message), string>::value, "message");
static_assert(is_same<decltype(RTMMessage::attrs), string>::value, "attrs");
static_assert(is_same<decltype(RTMMessage::modifiedTime), int64_t>::value, "modifiedTime");
static_assert(is_same<decltype(RTMMessage::translatedInfo), shared_ptr<TranslatedInfo>>::value, "translatedInfo");
static_assert(is_same<decltype(RTMMessage::fileInfo), shared_ptr<FileInfo>>::value, "fileInfo");
static_assert(is_same<decltype(TranslatedInfo::sourceLanguage), string>::value, "sourceLanguage");
static_assert(is_same<decltype(TranslatedInfo::targetText), string>::value, "targetText");
static_assert(is_same<decltype(FileInfo::url), string>::value, "url");
static_assert(is_same<decltype(FileInfo::surl), string>::value, "surl");
static_assert(is_same<decltype(FileInfo::language), string>::value, "language");
static_assert(is_same<decltype(FileInfo::size), int32_t>::value, "size");
static_assert(is_same<decltype(FileInfo::duration), int32_t>::value, "duration");
static_assert(is_same<decltype(FileInfo::isRTMAudio), bool>::value, "isRTMAudio");

namespace {

struct Call {
    string kind;
    RTMMessage message;
};

// Derived from the unchanged MyMonitor: records every official virtual (and the extras), with
// the official argument types. Messages are kept by value after the callback returns.
class Recorder : public MyMonitor {
public:
    vector<Call> calls;
    map<string, int> counts;
    vector<bool> reconnectFlags;
    string endpoint;
    int32_t evPid = 0, evTime = 0;
    int64_t evUid = 0;
    string evEvent, evEndpoint, evData;
    uint32_t doneId = 0;
    int64_t doneCode = -1;
    string doneEx;
    vector<int64_t> restoredCodes;
    string badMethod;
    int64_t kickRid = 0;

    const RTMMessage *last(const string &kind) const {
        for (auto it = calls.rbegin(); it != calls.rend(); ++it)
            if (it->kind == kind) return &it->message;
        return nullptr;
    }
    int count(const string &kind) const {
        auto it = counts.find(kind);
        return it == counts.end() ? 0 : it->second;
    }
    int messages() const { return static_cast<int>(calls.size()); }

    void add(const char *kind, RTMMessage m) {
        counts[kind]++;
        calls.push_back(Call{kind, std::move(m)});
    }

    void connected(const string &ep, bool ok, bool isReconnect) override {
        counts[ok ? "connected" : "connectFailed"]++;
        endpoint = ep;
        if (ok) reconnectFlags.push_back(isReconnect);
    }
    void closed(const string &ep, bool, bool) override {
        counts["closed"]++;
        endpoint = ep;
    }
    void pushP2PMessage(RTMMessage m) override { add("pushP2PMessage", std::move(m)); }
    void pushGroupMessage(RTMMessage m) override { add("pushGroupMessage", std::move(m)); }
    void pushRoomMessage(RTMMessage m) override { add("pushRoomMessage", std::move(m)); }
    void pushP2PFile(RTMMessage m) override { add("pushP2PFile", std::move(m)); }
    void pushGroupFile(RTMMessage m) override { add("pushGroupFile", std::move(m)); }
    void pushRoomFile(RTMMessage m) override { add("pushRoomFile", std::move(m)); }
    void pushP2PChat(RTMMessage m) override { add("pushP2PChat", std::move(m)); }
    void pushP2PAudio(RTMMessage m) override { add("pushP2PAudio", std::move(m)); }
    void pushP2PCmd(RTMMessage m) override { add("pushP2PCmd", std::move(m)); }
    void pushGroupChat(RTMMessage m) override { add("pushGroupChat", std::move(m)); }
    void pushGroupAudio(RTMMessage m) override { add("pushGroupAudio", std::move(m)); }
    void pushGroupCmd(RTMMessage m) override { add("pushGroupCmd", std::move(m)); }
    void pushRoomChat(RTMMessage m) override { add("pushRoomChat", std::move(m)); }
    void pushRoomAudio(RTMMessage m) override { add("pushRoomAudio", std::move(m)); }
    void pushRoomCmd(RTMMessage m) override { add("pushRoomCmd", std::move(m)); }
    void pushEvent(int32_t pid, const string &event, int64_t uid, int32_t time, const string &ep,
                   const string &data) override {
        counts["pushEvent"]++;
        evPid = pid;
        evEvent = event;
        evUid = uid;
        evTime = time;
        evEndpoint = ep;
        evData = data;
    }
    void ping() override { counts["ping"]++; }
    void pushBroadcastChat(RTMMessage m) override { add("pushBroadcastChat", std::move(m)); }
    void pushBroadcastFile(RTMMessage m) override { add("pushBroadcastFile", std::move(m)); }
    void kickout() override { counts["kickout"]++; }
    void kickoutRoom(int64_t rid) override {
        counts["kickoutRoom"]++;
        kickRid = rid;
    }
    void commandCompleted(uint32_t id, int64_t code, const string &ex) override {
        counts["commandCompleted"]++;
        doneId = id;
        doneCode = code;
        doneEx = ex;
    }
    void restored(int64_t code) override { restoredCodes.push_back(code); }
    void disconnected(const string &ep, const rtm_close_reason &reason, uint64_t retryInMs) override {
        counts["disconnected"]++;
        discEndpoint = ep;
        discReason = reason;
        discRetry = retryInMs;
    }
    string discEndpoint;
    rtm_close_reason discReason{};
    uint64_t discRetry = 0;
    void badPush(const string &method, int64_t code, bool, uint32_t, size_t) override {
        counts["badPush"]++;
        badMethod = method;
        doneCode = code;
    }
};

const int64_t FROM = 1002, MTIME = 1700000000000LL;
const char *const FILE_MSG = "{\"url\":\"http://f/a.amr\",\"size\":2048,\"surl\":\"http://f/t\"}";
const char *const FILE_ATTRS = "{\"rtm\":{\"type\":\"audiomsg\",\"lang\":\"ja\",\"duration\":4500},"
                               "\"custom\":{\"tag\":\"x\",\"n\":[1,2]}}";

// Every push kind (15 messages to each target kind, plus extras); returns the frame bytes.
size_t allKinds(uint8_t *buf, size_t cap, uint32_t &seq) {
    static const uint8_t audio[2] = {0xca, 0xfe};
    const push_target targets[3] = {TO_P2P, TO_GROUP, TO_ROOM};
    const int64_t to[3] = {1001, 2001, 3001};
    size_t n = 0;
    for (int t = 0; t < 3; t++) {
        int64_t base = 100 * (t + 1);
        n += push_text(buf + n, cap - n, seq++, targets[t], FROM, to[t], base + 1, 30, "chat", "ca", MTIME);
        n += push_message(buf + n, cap - n, seq++, targets[t], FROM, to[t], base + 2, 31, audio, 2, 1, "aa", MTIME);
        n += push_text(buf + n, cap - n, seq++, targets[t], FROM, to[t], base + 3, 32, "cmd", "", MTIME);
        n += push_text(buf + n, cap - n, seq++, targets[t], FROM, to[t], base + 4, 41, FILE_MSG, FILE_ATTRS, MTIME);
        n += push_text(buf + n, cap - n, seq++, targets[t], FROM, to[t], base + 5, 1, "generic", "ga", MTIME);
    }
    // translated chats: targetText set; targetText empty (falls back to sourceText)
    n += push_text(buf + n, cap - n, seq++, TO_GROUP, FROM, 2001, 210, 30,
                   "{\"source\":\"en\",\"target\":\"zh\",\"sourceText\":\"hello\",\"targetText\":\"\\u4f60\\u597d\"}",
                   "", MTIME);
    n += push_text(buf + n, cap - n, seq++, TO_ROOM, FROM, 3001, 310, 30,
                   "{\"source\":\"en\",\"target\":\"zh\",\"sourceText\":\"hello\",\"targetText\":\"\"}", "", MTIME);
    // a file without custom (attrs unchanged) and a broadcast file
    n += push_text(buf + n, cap - n, seq++, TO_P2P, FROM, 1001, 110, 50, "{\"url\":\"http://f/b\",\"size\":3}",
                   "{\"rtm\":{}}", MTIME);
    n += push_text(buf + n, cap - n, seq++, TO_BROADCAST, FROM, 0, 410, 40, "{\"url\":\"http://f/c\",\"size\":4}",
                   "{\"custom\":\"plain\"}", MTIME);
    n += push_event(buf + n, cap - n, seq++, 1000001, "login", 1001, 1700000000, "127.0.0.1:1", "d");
    n += push_empty(buf + n, cap - n, seq++, "ping");
    n += push_kickout_room(buf + n, cap - n, seq++, 3001);
    n += push_empty(buf + n, cap - n, seq++, "kickout");
    return n;
}

void testMyMonitor() {
    check_group("compat: the official MyMonitor receives every push kind");
    static uint8_t buf[16384], tx[4096];
    uint32_t seq = 1;
    size_t n = allKinds(buf, sizeof buf, seq), txlen = 0, errors = 0;
    MyMonitor my;
    Listener l(1000001, "sim-secret", 1, my);
    CHECK_ST(l.initStatus(), RTM_OK);
    CHECK_ST(l.connected(0, "127.0.0.1:1"), RTM_OK);
    CHECK_ST(feedAll(l, 1, buf, n, tx, sizeof tx, txlen), RTM_OK);
    CHECK_EQ(countAnswers(tx, txlen, &errors), seq - 1);
    CHECK_EQ(errors, 0);
    CHECK_ST(l.closed(2, peerClosed()), RTM_OK);
}

void testRecorder() {
    check_group("compat: official types and semantics, by callback");
    static uint8_t buf[16384], tx[4096];
    uint32_t seq = 1;
    size_t n = allKinds(buf, sizeof buf, seq), txlen = 0;
    Recorder r;
    RTMServerPushMonitor &base = r; // the listener sees only the base class
    Listener l(1000001, "sim-secret", 1, base);
    CHECK_ST(l.connected(0, "127.0.0.1:1"), RTM_OK);
    CHECK_EQ(r.count("connected"), 1);
    CHECK_SV(r.endpoint, "127.0.0.1:1");
    CHECK_ST(feedAll(l, 1, buf, n, tx, sizeof tx, txlen), RTM_OK);
    CHECK_EQ(countAnswers(tx, txlen), seq - 1);

    const char *chat[3] = {"pushP2PChat", "pushGroupChat", "pushRoomChat"};
    const char *aud[3] = {"pushP2PAudio", "pushGroupAudio", "pushRoomAudio"};
    const char *cmd[3] = {"pushP2PCmd", "pushGroupCmd", "pushRoomCmd"};
    const char *file[3] = {"pushP2PFile", "pushGroupFile", "pushRoomFile"};
    const char *gen[3] = {"pushP2PMessage", "pushGroupMessage", "pushRoomMessage"};
    const int64_t to[3] = {1001, 2001, 3001};
    for (int t = 0; t < 3; t++) {
        int64_t base_mid = 100 * (t + 1);
        CHECK_EQ(r.count(chat[t]), t == 0 ? 1 : 2);
        CHECK_EQ(r.count(aud[t]), 1);
        CHECK_EQ(r.count(cmd[t]), 1);
        CHECK_EQ(r.count(file[t]), t == 0 ? 2 : 1);
        CHECK_EQ(r.count(gen[t]), 1);
        const RTMMessage *m = r.last(aud[t]);
        if (CHECK(m != nullptr)) {
            CHECK_EQ(m->messageId, base_mid + 2);
            CHECK(m->message == string("\xca\xfe", 2));
            CHECK_SV(m->attrs, "aa");
            CHECK(!m->translatedInfo && !m->fileInfo);
        }
        m = r.last(gen[t]);
        if (CHECK(m != nullptr)) {
            CHECK_EQ(m->fromUid, FROM);
            CHECK_EQ(m->toId, to[t]);
            CHECK_EQ(m->messageType, 1);
            CHECK_EQ(m->messageId, base_mid + 5);
            CHECK_SV(m->message, "generic");
            CHECK_SV(m->attrs, "ga");
            CHECK_EQ(m->modifiedTime, MTIME);
        }
        m = r.last(cmd[t]);
        if (CHECK(m != nullptr)) CHECK_SV(m->message, "cmd");
        // the file with custom: message cleared, attrs = custom's JSON text (official C++ SDK)
        for (const Call &c : r.calls) {
            if (c.kind != file[t] || c.message.messageId != base_mid + 4) continue;
            const RTMMessage &f = c.message;
            CHECK_EQ(f.messageType, 41);
            CHECK_SV(f.message, "");
            CHECK_SV(f.attrs, "{\"tag\":\"x\",\"n\":[1,2]}");
            if (CHECK(f.fileInfo != nullptr)) {
                CHECK_SV(f.fileInfo->url, "http://f/a.amr");
                CHECK_SV(f.fileInfo->surl, "http://f/t");
                CHECK_SV(f.fileInfo->language, "ja");
                CHECK_EQ(f.fileInfo->size, 2048);
                CHECK_EQ(f.fileInfo->duration, 4500);
                CHECK(f.fileInfo->isRTMAudio);
            }
            CHECK(!f.translatedInfo);
        }
    }
    // plain chat: message unchanged, no translatedInfo
    const RTMMessage *m = r.last("pushP2PChat");
    if (CHECK(m != nullptr)) {
        CHECK_SV(m->message, "chat");
        CHECK_SV(m->attrs, "ca");
        CHECK(!m->translatedInfo);
    }
    // translated: message = targetText ("\u4f60\u597d" unescaped to UTF-8), else sourceText
    m = r.last("pushGroupChat");
    if (CHECK(m != nullptr && m->translatedInfo)) {
        CHECK_EQ(m->messageId, 210);
        CHECK_SV(m->message, "\xe4\xbd\xa0\xe5\xa5\xbd");
        CHECK_SV(m->translatedInfo->sourceLanguage, "en");
        CHECK_SV(m->translatedInfo->targetLanguage, "zh");
        CHECK_SV(m->translatedInfo->sourceText, "hello");
        CHECK_SV(m->translatedInfo->targetText, "\xe4\xbd\xa0\xe5\xa5\xbd");
    }
    m = r.last("pushRoomChat");
    if (CHECK(m != nullptr && m->translatedInfo)) {
        CHECK_EQ(m->messageId, 310);
        CHECK_SV(m->message, "hello");
        CHECK_SV(m->translatedInfo->targetText, "");
    }
    // a file without custom: message cleared, attrs unchanged
    m = r.last("pushP2PFile");
    if (CHECK(m != nullptr && m->fileInfo)) {
        CHECK_EQ(m->messageId, 110);
        CHECK_SV(m->message, "");
        CHECK_SV(m->attrs, "{\"rtm\":{}}");
        CHECK_SV(m->fileInfo->url, "http://f/b");
        CHECK_EQ(m->fileInfo->size, 3);
        CHECK(!m->fileInfo->isRTMAudio);
    }
    // broadcast file with a string custom: attrs = the string
    m = r.last("pushBroadcastFile");
    if (CHECK(m != nullptr && m->fileInfo)) {
        CHECK_SV(m->message, "");
        CHECK_SV(m->attrs, "plain");
        CHECK_EQ(m->toId, 0);
    }
    CHECK_EQ(r.count("pushEvent"), 1);
    CHECK_EQ(r.evPid, 1000001);
    CHECK_SV(r.evEvent, "login");
    CHECK_EQ(r.evUid, 1001);
    CHECK_EQ(r.evTime, 1700000000);
    CHECK_SV(r.evEndpoint, "127.0.0.1:1");
    CHECK_SV(r.evData, "d");
    CHECK_EQ(r.count("ping"), 1);
    CHECK_EQ(r.count("kickoutRoom"), 1);
    CHECK_EQ(r.kickRid, 3001);
    CHECK_EQ(r.count("kickout"), 1);
    // 15 + 2 translated + 2 files = 19 messages, all owning their data after the calls
    CHECK_EQ(r.messages(), 19);
    CHECK_ST(l.closed(2, ioError(RTM_IO_CONNECTION_RESET, 104)), RTM_OK);
    CHECK_EQ(r.count("closed"), 1);

    // listen commands with the official set types
    CHECK_ST(l.connected(3, "127.0.0.1:2"), RTM_OK);
    uint32_t id = 0;
    txlen = 0;
    CHECK_ST(l.addListenAt(3, set<int64_t>{2001}, set<int64_t>{}, set<int64_t>{1001}, set<string>{"logout"}, &id),
             RTM_OK);
    drainTx(l, tx, sizeof tx, txlen);
    uint32_t qseq = questSeq(tx, txlen, "setlisten");
    uint8_t a[64];
    size_t k = answer_error(a, sizeof a, qseq, 200020, "forbidden");
    txlen = 0;
    CHECK_ST(feedAll(l, 4, a, k, tx, sizeof tx, txlen), RTM_OK);
    CHECK_EQ(r.count("commandCompleted"), 1);
    CHECK_EQ(r.doneId, id);
    CHECK_EQ(r.doneCode, 200020);
    CHECK_SV(r.doneEx, "forbidden");
}

void testBigAndLong() {
    check_group("compat: 64 KiB buffers, long JSON info, the official rewriting only with info");
    static Buffers<65536, 2048> buffers;
    static uint8_t in[80 * 1024], tx[4096];
    static char text[60 * 1024 + 1], src[361], tgt[361], src8[181], tgt8[181], json[1024], url[2049],
        urlEsc[4200], file[4400];
    for (size_t i = 0; i < 60 * 1024; i++) text[i] = static_cast<char>('0' + i % 10);
    cjk_escaped(src, src8, 60, 7);
    cjk_escaped(tgt, tgt8, 60, 77);
    std::snprintf(json, sizeof json,
                  "{\"source\":\"zh\",\"target\":\"en\",\"sourceText\":\"%s\",\"targetText\":\"%s\"}", src, tgt);
    long_url(url, urlEsc, 2048);
    std::snprintf(file, sizeof file, "{\"url\":\"%s\",\"size\":99}", urlEsc);
    Recorder r;
    Listener l(1000001, "sim-secret", 5, r, buffers.options());
    CHECK_ST(l.initStatus(), RTM_OK);
    CHECK_ST(l.connected(0, "127.0.0.1:3"), RTM_OK);
    uint32_t seq = 1;
    size_t n = 0, txlen = 0, errors = 0;
    n += push_text(in + n, sizeof in - n, seq++, TO_P2P, FROM, 1001, 501, 1, text, "", MTIME);
    n += push_text(in + n, sizeof in - n, seq++, TO_P2P, FROM, 1001, 502, 30, json, "", MTIME);
    n += push_text(in + n, sizeof in - n, seq++, TO_P2P, FROM, 1001, 503, 41, file, "{\"custom\":{\"c\":1}}", MTIME);
    n += push_text(in + n, sizeof in - n, seq++, TO_P2P, FROM, 1001, 504, 41, "{broken", "{\"custom\":2}", MTIME);
    CHECK_ST(feedAll(l, 1, in, n, tx, sizeof tx, txlen), RTM_OK);
    CHECK_EQ(countAnswers(tx, txlen, &errors), 4);
    CHECK_EQ(errors, 0);
    const RTMMessage *m = r.last("pushP2PMessage");
    if (CHECK(m != nullptr)) CHECK(m->message == string(text)); // 60 KiB, whole
    m = r.last("pushP2PChat");
    if (CHECK(m != nullptr && m->translatedInfo)) {
        CHECK_EQ(m->infoStatus, RTM_INFO_OK);
        CHECK(m->message == string(tgt8)); // official: the message is the target text
        CHECK(m->translatedInfo->sourceText == string(src8));
        CHECK(m->translatedInfo->targetText == string(tgt8));
    }
    const RTMMessage *f = nullptr, *broken = nullptr;
    for (const Call &c : r.calls) {
        if (c.kind != "pushP2PFile") continue;
        if (c.message.messageId == 503) f = &c.message;
        if (c.message.messageId == 504) broken = &c.message;
    }
    if (CHECK(f != nullptr && f->fileInfo)) {
        CHECK_EQ(f->infoStatus, RTM_INFO_OK);
        CHECK(f->fileInfo->url == string(url)); // 2 KiB, unescaped
        CHECK_EQ(f->fileInfo->size, 99);
        CHECK_SV(f->message, "");       // official: cleared when the info is there
        CHECK_SV(f->attrs, "{\"c\":1}"); // and attrs = custom
    }
    if (CHECK(broken != nullptr)) {
        CHECK(!broken->fileInfo);
        CHECK_EQ(broken->infoStatus, RTM_INFO_SYNTAX);
        CHECK_SV(broken->message, "{broken");       // no info: left as received
        CHECK_SV(broken->attrs, "{\"custom\":2}"); // attrs too
    }
    // reasons reach the extra virtual (with the official closed() before it)
    CHECK_ST(l.closed(2, peerClosed()), RTM_OK);
    CHECK_EQ(r.count("closed"), 1);
    CHECK_EQ(r.count("disconnected"), 1);
    CHECK_SV(r.discEndpoint, "127.0.0.1:3");
    CHECK_EQ(r.discReason.kind, RTM_REASON_PEER_CLOSED);
    CHECK_ST(l.connectFailed(3, "127.0.0.1:4", ioError(RTM_IO_TIMED_OUT, 110)), RTM_OK);
    CHECK_EQ(r.count("connectFailed"), 1);
    CHECK_SV(r.endpoint, "127.0.0.1:4");
    CHECK_EQ(r.discReason.io_kind, RTM_IO_TIMED_OUT);
    CHECK_EQ(r.discReason.os_error, 110);
    CHECK(l.reconnectAt().has_value() && *l.reconnectAt() == 3 + r.discRetry);
}

void testGateSim(const char *gateSim) {
    check_group("compat: gate-sim --script demo with a MyMonitor-derived monitor");
    sim_proc sim;
    if (!CHECK(sim_start(&sim, gateSim, "demo") == 0)) return;
    Recorder r;
    Listener l(1000001, "sim-secret", 99, r);
    uint32_t id = 0;
    CHECK_ST(l.addListenAt(mono_ms(), {2001}, {3001}, {1001}, {"login"}, &id), RTM_OK);
    int connections = runSession(l, sim, 30000);
    CHECK_EQ(sim_finish(&sim, 5000), 0);
    CHECK(std::strcmp(sim.line, "SCRIPT OK pushes=22 answered=21 reconnects=1") == 0);
    CHECK(connections >= 2);
    CHECK_EQ(r.count("connected"), connections);
    CHECK(r.reconnectFlags.size() >= 2 && !r.reconnectFlags[0] && r.reconnectFlags[1]);
    CHECK(!r.restoredCodes.empty() && r.restoredCodes[0] == 0);
    CHECK_EQ(r.doneId, id);
    CHECK_EQ(r.doneCode, 0);
    CHECK_EQ(r.messages(), 19);
    for (const char *k : {"pushP2PMessage", "pushGroupMessage", "pushRoomMessage", "pushP2PFile", "pushGroupFile",
                          "pushRoomFile", "pushP2PAudio", "pushGroupAudio", "pushRoomAudio", "pushP2PCmd",
                          "pushGroupCmd", "pushRoomCmd", "pushEvent", "ping"})
        check_i64(r.count(k), 1, k, __FILE__, __LINE__);
    CHECK_EQ(r.count("pushP2PChat"), 2);
    CHECK_EQ(r.count("pushGroupChat"), 3);
    CHECK_EQ(r.count("pushRoomChat"), 2);
    const RTMMessage *f = r.last("pushP2PFile");
    if (CHECK(f != nullptr && f->fileInfo)) {
        CHECK_SV(f->message, "");
        CHECK_SV(f->attrs, "{\"k\":\"v\"}");
        CHECK_SV(f->fileInfo->url, "http://127.0.0.1/f/104.amr");
        CHECK_EQ(f->fileInfo->size, 1024);
        CHECK_EQ(f->fileInfo->duration, 3000);
        CHECK_SV(f->fileInfo->language, "en");
        CHECK(f->fileInfo->isRTMAudio);
    }
    f = r.last("pushGroupFile");
    if (CHECK(f != nullptr && f->fileInfo)) {
        CHECK_SV(f->message, "");
        CHECK_SV(f->attrs, "{\"rtm\":{}}"); // no custom: unchanged
        CHECK_SV(f->fileInfo->surl, "http://127.0.0.1/f/204s.png");
    }
    const RTMMessage *c = r.last("pushGroupChat");
    if (CHECK(c != nullptr)) {
        CHECK_SV(c->message, "after reconnect");
        CHECK_EQ(c->messageId, 206);
    }
    CHECK_EQ(r.evPid, 1000001);
    CHECK_EQ(r.evTime, 1700000000);
    CHECK_SV(r.evData, "demo");
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s <path to gate-sim>\n", argv[0]);
        return 2;
    }
    testMyMonitor();
    testRecorder();
    testBigAndLong();
    testGateSim(argv[1]);
    return check_summary();
}
#endif
