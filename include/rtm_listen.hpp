/*
 * rtm-listen C++ adapter: header-only, over the C ABI in rtm_listen.h. C++11.
 *
 * - rtm::RTMServerPushMonitor: the virtuals of the official C++ SDK's monitor, with the
 *   official names AND signatures by default (`const std::string&`, `RTMMessage message` by
 *   value, `pushEvent(int32_t pid, ...)`), each a default no-op, plus extra virtuals for the
 *   client-protocol pushes (broadcast, kickout, kickoutRoom), command completion,
 *   restoration, bad pushes, and why a connection attempt failed or a connection ended
 *   (disconnected, with an rtm_close_reason). Code written for the official SDK, `override`
 *   or not, overrides these: its callbacks are called.
 * - rtm::RTMServerClient (include rtm_server_client.hpp): the official client, with its own
 *   socket and thread. Most ports need only that.
 * - rtm::WkListener: the same for a WuKongIM monitor user (rtm_wk_listener), on the same
 *   RTMServerPushMonitor; its messages carry RTMMessage::wukong (WuKongFields: the string ids
 *   and WuKongIM's fields), since WuKongIM ids are strings and RTMMessage's are int64 (they
 *   hold the integer when the string is a decimal number, else 0).
 * - rtm::Listener: the sans-IO engine for hosts that run their own event loop: owns the
 *   listener storage inline (no heap), calls the monitor. Non-copyable and non-movable: the C
 *   side calls back with a pointer to it. Its listen commands take the host's clock first and
 *   are named for it (addListenAt, removeListenAt, setListenAt, setListenAllAt), so no call
 *   written for the official client can bind to them with its arguments shifted. Its receive
 *   and transmit buffers are the inline defaults (4 KiB and 1 KiB) or memory the caller lends
 *   at the sizes it chooses (rtm::Options, rtm::Buffers<RX, TX>), e.g. 64 KiB messages:
 *
 *       static rtm::Buffers<65536, 4096> buffers;
 *       rtm::Listener listener(pid, secret, entropy, monitor, buffers.options());
 *
 * Two flavours of the monitor types:
 *
 * - Default (the official types): std::string fields, std::shared_ptr<TranslatedInfo> /
 *   std::shared_ptr<FileInfo>, and the official SDK's rewriting of the message (reference
 *   §7.4, §7.5): a translated chat's `message` becomes targetText (sourceText if targetText is
 *   empty); a file message's `message` is cleared and its `attrs` replaced by `custom` when
 *   present (an object or array as its JSON text, a string unescaped). This flavour allocates
 *   on the C++ side (the C library never does). `RTM_LISTEN_OFFICIAL_COMPAT`, the define
 *   earlier versions needed for it, is still accepted and changes nothing.
 * - `#define RTM_LISTEN_VIEWS` before including (C++17): zero allocation. Strings are
 *   std::string_view and RTMMessage is a view whose strings and info pointers are valid only
 *   during the callback; `message` and `attrs` are exactly as received, a translated chat's
 *   parsed fields are in `translatedInfo`. Monitors take `const RTMMessage&`. The official
 *   signatures (`const std::string&`, `RTMMessage` by value, the int32_t pushEvent) are
 *   declared `final` in this flavour, so official-style code compiled in it fails to compile
 *   ("overriding final function") instead of never being called.
 *
 * Callbacks run inside Listener calls. A callback must not call back into the same Listener
 * (the call returns RTM_ERR_BUSY), nor destroy it. An exception thrown by a callback is caught at the C
 * boundary (it must never unwind through the library), the remaining callbacks of that call
 * still run, and the first exception is rethrown from the Listener call once the library has
 * returned.
 *
 * FPNN encryption: Options::encryption (or setEncryption() later) with the server's public key
 * (PEM, DER or raw X||Y; see rtm::encryption()); every connection then starts with the `*key`
 * exchange and is encrypted. RTMServerClient has the official enableEncryptor* names.
 *
 * The driving loop is the C one (see README.md, "Using from C and C++"): feed received bytes
 * with receive(), send what transmit() returns and report it with transmitDone(), call
 * handleTimeout() at nextTimeout(), report failed attempts with connectFailed() and closes with
 * closed() and a reason (after RTM_CLOSE, the one closeReason() gives), reconnect at
 * reconnectAt().
 */

#ifndef RTM_LISTEN_HPP
#define RTM_LISTEN_HPP

#if defined(_MSVC_LANG) && _MSVC_LANG > __cplusplus
#define RTM_LISTEN_CPLUSPLUS _MSVC_LANG
#else
#define RTM_LISTEN_CPLUSPLUS __cplusplus
#endif

#if RTM_LISTEN_CPLUSPLUS < 201103L
#error "rtm_listen.hpp needs C++11 or later (-std=c++11)"
#endif
#if defined(RTM_LISTEN_VIEWS) && RTM_LISTEN_CPLUSPLUS < 201703L
#error "rtm_listen.hpp: RTM_LISTEN_VIEWS (the zero-allocation std::string_view monitor) needs C++17 (-std=c++17); without RTM_LISTEN_VIEWS the official types need only C++11"
#endif
#if defined(RTM_LISTEN_VIEWS) && defined(RTM_LISTEN_OFFICIAL_COMPAT)
#error "rtm_listen.hpp: define RTM_LISTEN_VIEWS or RTM_LISTEN_OFFICIAL_COMPAT, not both (the official types are the default)"
#endif

#if RTM_LISTEN_CPLUSPLUS >= 201703L
#define RTM_LISTEN_HAS_CXX17 1
#else
#define RTM_LISTEN_HAS_CXX17 0
#endif

#include "rtm_listen.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <set>
#include <string>
#include <utility>
#if RTM_LISTEN_HAS_CXX17
#include <optional>
#include <string_view>
#endif

/* Upper bound on the ids (all kinds together) the std::set overloads copy onto the stack.
 * Larger sets get RTM_ERR_TOO_MANY_IDS; pass an rtm_ids to the raw overloads instead. */
#ifndef RTM_LISTEN_HPP_MAX_SET_IDS
#define RTM_LISTEN_HPP_MAX_SET_IDS 256
#endif

namespace rtm {

/* The status codes of rtm_listen.h, as a type with a readable description. */
using Status = rtm_status;

inline const char *statusString(Status status) noexcept { return rtm_status_str(status); }

/* A C byte string as a std::string (a copy). */
inline std::string str(rtm_str s) { return std::string(reinterpret_cast<const char *>(s.ptr), s.len); }

#if RTM_LISTEN_HAS_CXX17
/* A C byte string as a string_view (valid as long as the C string is). */
inline std::string_view view(rtm_str s) noexcept {
    return std::string_view(reinterpret_cast<const char *>(s.ptr), s.len);
}
#endif

/* Borrowed bytes for the adapter's string parameters: from a C string, a std::string, a
 * pointer and a length, or (C++17) a std::string_view. */
struct Bytes {
    const char *data = "";
    size_t size = 0;
    Bytes() noexcept {}
    Bytes(const char *s) noexcept : data(s ? s : ""), size(s ? std::strlen(s) : 0) {}
    Bytes(const char *s, size_t n) noexcept : data(n ? s : ""), size(n) {}
    Bytes(const std::string &s) noexcept : data(s.data()), size(s.size()) {}
#if RTM_LISTEN_HAS_CXX17
    Bytes(std::string_view s) noexcept : data(s.empty() ? "" : s.data()), size(s.size()) {}
#endif
};

/* Close reasons for connectFailed() and closed() (see rtm_close_reason). */
inline rtm_close_reason peerClosed() noexcept { return rtm_close_reason_of(RTM_REASON_PEER_CLOSED); }
inline rtm_close_reason hostClosed() noexcept { return rtm_close_reason_of(RTM_REASON_HOST); }
inline rtm_close_reason ioError(rtm_io_kind kind, int32_t osError = 0) noexcept {
    return rtm_close_reason_io(kind, osError);
}
/* A static description of a reason's class. */
inline const char *reasonString(const rtm_close_reason &reason) noexcept { return rtm_close_reason_str(&reason); }

/* Listener settings beyond the credentials: timing (0: defaults) and buffers. With `buffer`
 * NULL the buffers are inline (rxSize/txSize 0: 4096/1024); otherwise `bufferLen >=
 * RTM_BUFFER_SIZE(rxSize, txSize)` bytes lent by the caller, valid and unmoved for the
 * listener's life. See rtm_config. */
struct Options {
    uint32_t questTimeoutMs = 0;
    uint32_t pingIntervalMs = 0;
    uint8_t *buffer = nullptr;
    size_t bufferLen = 0;
    size_t rxSize = 0;
    size_t txSize = 0;
    /* The reconnect back-off (read at init), or nullptr for the defaults (see rtm_backoff). */
    const rtm_backoff *backoff = nullptr;
    /* Parse a message's JSON info only when the callback asks (RTMMessage::loadInfo, views
     * only; see rtm_config.lazy_info). The official types always carry it parsed. */
    bool lazyInfo = false;
    /* FPNN encryption (see rtm_encryption and rtm::encryption()); all zero: plaintext. Its
     * memory is read by the constructor only. */
    rtm_encryption encryption = rtm_encryption();
};

/* An rtm_encryption over borrowed bytes: the server key as `format` says (RTM_KEY_AUTO: PEM,
 * DER or, with `curve`, raw X||Y), the curve's name for a raw key (or nullptr), the official
 * SDK's packageMode (true: package mode, its default) and reinforce (true: AES-256), and at
 * least RTM_MIN_ENTROPY bytes from a secure generator. The bytes (and `curve`) must stay valid
 * until the call that takes it returns; nothing is kept. */
inline rtm_encryption encryption(Bytes serverKey, rtm_key_format format, const char *curve, bool packageMode,
                                 bool reinforce, Bytes entropy) noexcept {
    rtm_encryption e = rtm_encryption();
    e.server_key = reinterpret_cast<const uint8_t *>(serverKey.data);
    e.server_key_len = serverKey.size;
    e.format = format;
    e.curve = curve;
    e.stream_mode = !packageMode;
    e.aes256 = reinforce;
    e.entropy = reinterpret_cast<const uint8_t *>(entropy.data);
    e.entropy_len = entropy.size;
    return e;
}

/* Buffer memory for a receive buffer of RX bytes and a transmit buffer of TX bytes (plus the
 * JSON scratch), to lend to one Listener: keep it alive and in place as long as the listener
 * (a static, or a member declared before the Listener). */
template <size_t RX, size_t TX>
struct Buffers {
    static_assert(RX >= RTM_MIN_RX_SIZE, "receive buffer below RTM_MIN_RX_SIZE");
    uint8_t bytes[RTM_BUFFER_SIZE(RX, TX)];

    Options options(uint32_t questTimeoutMs = 0, uint32_t pingIntervalMs = 0) noexcept {
        Options o;
        o.questTimeoutMs = questTimeoutMs;
        o.pingIntervalMs = pingIntervalMs;
        o.buffer = bytes;
        o.bufferLen = sizeof bytes;
        o.rxSize = RX;
        o.txSize = TX;
        return o;
    }
};

/* Borrowed bytes as a C byte string. */
inline rtm_str cstr(Bytes s) noexcept {
    rtm_str r;
    r.ptr = reinterpret_cast<const uint8_t *>(s.data);
    r.len = s.size;
    return r;
}

/* What an RTM mtype is, as the library classifies it (30 chat, 31 audio, 32 command,
 * 40..50 file, anything else a generic message). Used to split broadcasts. */
enum class Category { Message, Chat, Audio, Cmd, File };

inline Category categoryOf(int8_t messageType) noexcept {
    if (messageType == 30) return Category::Chat;
    if (messageType == 31) return Category::Audio;
    if (messageType == 32) return Category::Cmd;
    if (messageType >= 40 && messageType <= 50) return Category::File;
    return Category::Message;
}

#ifdef RTM_LISTEN_VIEWS

/* ---- RTM_LISTEN_VIEWS (C++17): views, no allocation. ---- */

/* Translation carried by a translated chat (official TranslatedInfo). */
struct TranslatedInfo {
    std::string_view sourceLanguage;
    std::string_view targetLanguage;
    std::string_view sourceText;
    std::string_view targetText;
};

/* What a file message describes (official FileInfo, plus the raw `custom`). */
struct FileInfo {
    std::string_view url;
    std::string_view surl;
    std::string_view language;
    int64_t size = 0;
    int64_t duration = 0;
    bool isRTMAudio = false;
    bool hasCustom = false;
    std::string_view custom; /* attrs.custom: a string unescaped, else its JSON text */
};

/* WuKongIM's own fields of a message (rtm::WkListener), valid only during the callback. Its
 * ids are strings: RTMMessage::fromUid and toId hold their integer values when they are
 * decimal numbers, and 0 when they are not. */
struct WuKongFields {
    std::string_view fromUid;   /* the sender (empty for the system) */
    std::string_view channelId; /* person channels: the other party; else the group or room */
    uint8_t channelType = 0;    /* 1 person, 2 group, a room type, or another */
    std::string_view clientMsgNo;
    uint64_t messageSeq = 0;
    bool hasTopic = false;
    std::string_view topic;
    bool hasContentType = false;
    int64_t contentType = 0; /* the payload's JSON `type` (messageType holds it when it fits int8_t) */
    uint8_t headerFlags = 0; /* DUP 8, SyncOnce 4, RedDot 2, NoPersist 1 */
    uint8_t setting = 0;
    int32_t timestamp = 0; /* Unix seconds */
};

/* A message push (official RTMMessage), valid only during the callback. */
struct RTMMessage {
    int64_t fromUid = 0;
    int64_t toId = 0;
    int8_t messageType = 0;
    int64_t messageId = 0;
    std::string_view message; /* as received (text or binary) */
    std::string_view attrs;   /* as received */
    int64_t modifiedTime = 0;
    mutable const TranslatedInfo *translatedInfo = nullptr; /* translated chat, else nullptr */
    mutable const FileInfo *fileInfo = nullptr;             /* file message, else nullptr */
    mutable rtm_info_status infoStatus = RTM_INFO_NONE;     /* RTM_INFO_OK when an info is set, else why not */
    const WuKongFields *wukong = nullptr;                   /* rtm::WkListener's messages, else nullptr */

    /* With Options::lazyInfo the JSON info is parsed only when asked: infoStatus is
     * RTM_INFO_LAZY (for chats and file messages) until loadInfo() parses it and sets the three
     * fields above. Without it, or called again, loadInfo() changes nothing. Returns
     * infoStatus. Valid during the callback. */
    rtm_info_status loadInfo() const noexcept {
        if (infoStatus == RTM_INFO_LAZY && raw_) {
            const rtm_translated_info *t = nullptr;
            const rtm_file_info *f = nullptr;
            infoStatus = rtm_message_info(raw_, &t, &f);
            setInfo(t, f);
        }
        return infoStatus;
    }

    /* The adapter's: the C view, and where the info is copied. */
    const rtm_message *raw_ = nullptr;
    mutable TranslatedInfo translated_;
    mutable FileInfo file_;

    void setInfo(const rtm_translated_info *t, const rtm_file_info *f) const noexcept {
        if (t) {
            translated_.sourceLanguage = view(t->source_language);
            translated_.targetLanguage = view(t->target_language);
            translated_.sourceText = view(t->source_text);
            translated_.targetText = view(t->target_text);
            translatedInfo = &translated_;
        }
        if (f) {
            file_.url = view(f->url);
            file_.surl = view(f->surl);
            file_.language = view(f->language);
            file_.size = f->size;
            file_.duration = f->duration;
            file_.isRTMAudio = f->is_rtm_audio;
            file_.hasCustom = f->has_custom;
            file_.custom = view(f->custom);
            fileInfo = &file_;
        }
    }
};

using StringArg = std::string_view;
using MessageArg = const RTMMessage &;
using EventInt = int64_t;

#else /* RTM_LISTEN_VIEWS */

/* ---- Default: the official types and signatures. ---- */

struct TranslatedInfo {
    std::string sourceLanguage;
    std::string targetLanguage;
    std::string sourceText;
    std::string targetText;
};

struct FileInfo {
    std::string url;
    std::string surl;
    std::string language;
    int32_t size = 0;
    int32_t duration = 0;
    bool isRTMAudio = false;
};

/* WuKongIM's own fields of a message (rtm::WkListener). Its ids are strings: RTMMessage's
 * fromUid and toId hold their integer values when they are decimal numbers, and 0 when they
 * are not. */
struct WuKongFields {
    std::string fromUid;   /* the sender (empty for the system) */
    std::string channelId; /* person channels: the other party; else the group or room */
    uint8_t channelType = 0;
    std::string clientMsgNo;
    uint64_t messageSeq = 0;
    bool hasTopic = false;
    std::string topic;
    bool hasContentType = false;
    int64_t contentType = 0; /* the payload's JSON `type` (messageType holds it when it fits int8_t) */
    uint8_t headerFlags = 0; /* DUP 8, SyncOnce 4, RedDot 2, NoPersist 1 */
    uint8_t setting = 0;
    int32_t timestamp = 0; /* Unix seconds */
};

struct RTMMessage {
    int64_t fromUid = 0;
    int64_t toId = 0;
    int8_t messageType = 0;
    int64_t messageId = 0;
    std::string message;
    std::string attrs;
    int64_t modifiedTime = 0;
    std::shared_ptr<TranslatedInfo> translatedInfo;
    std::shared_ptr<FileInfo> fileInfo;
    /* Not in the official SDK: RTM_INFO_OK when an info is set, else why not (RTM_INFO_NONE, or
     * the JSON error; the message is then left as received). */
    rtm_info_status infoStatus = RTM_INFO_NONE;
    /* Not in the official SDK: rtm::WkListener's messages, else null. */
    std::shared_ptr<WuKongFields> wukong;
};

using StringArg = const std::string &;
using MessageArg = RTMMessage;
using EventInt = int32_t;

#endif /* RTM_LISTEN_VIEWS */

/* The monitor. Every virtual is a no-op by default; override the ones you need. */
class RTMServerPushMonitor {
public:
    virtual ~RTMServerPushMonitor() = default;

    /* The official virtuals. */
    virtual void connected(StringArg /*endpoint*/, bool /*connected*/, bool /*isReconnect*/) {}
    virtual void closed(StringArg /*endpoint*/, bool /*causedByError*/, bool /*isReconnect*/) {}
    virtual void pushP2PMessage(MessageArg /*message*/) {}
    virtual void pushGroupMessage(MessageArg /*message*/) {}
    virtual void pushRoomMessage(MessageArg /*message*/) {}
    virtual void pushP2PFile(MessageArg /*message*/) {}
    virtual void pushGroupFile(MessageArg /*message*/) {}
    virtual void pushRoomFile(MessageArg /*message*/) {}
    virtual void pushP2PChat(MessageArg /*message*/) {}
    virtual void pushP2PAudio(MessageArg /*message*/) {}
    virtual void pushP2PCmd(MessageArg /*message*/) {}
    virtual void pushGroupChat(MessageArg /*message*/) {}
    virtual void pushGroupAudio(MessageArg /*message*/) {}
    virtual void pushGroupCmd(MessageArg /*message*/) {}
    virtual void pushRoomChat(MessageArg /*message*/) {}
    virtual void pushRoomAudio(MessageArg /*message*/) {}
    virtual void pushRoomCmd(MessageArg /*message*/) {}
    /* Official types: pid and time int32_t as in the official SDK; RTM_LISTEN_VIEWS: int64_t. */
    virtual void pushEvent(EventInt /*pid*/, StringArg /*event*/, int64_t /*uid*/, EventInt /*time*/,
                           StringArg /*endpoint*/, StringArg /*data*/) {}
    virtual void ping() {}

#ifdef RTM_LISTEN_VIEWS
    /* RTM_LISTEN_VIEWS: the official SDK's signatures are never called in this flavour (the
     * ones above are). They are final so that a monitor written for the official SDK
     * (`const string&`, `RTMMessage message` by value, int32_t pid and time), compiled with
     * RTM_LISTEN_VIEWS, fails to compile ("overriding final function") instead of compiling
     * into callbacks that are never called. Fix: remove RTM_LISTEN_VIEWS (the official types
     * are the default), or take std::string_view and `const RTMMessage&`. */
    virtual void connected(const std::string &, bool, bool) final {}
    virtual void closed(const std::string &, bool, bool) final {}
    virtual void pushP2PMessage(RTMMessage) final {}
    virtual void pushGroupMessage(RTMMessage) final {}
    virtual void pushRoomMessage(RTMMessage) final {}
    virtual void pushP2PFile(RTMMessage) final {}
    virtual void pushGroupFile(RTMMessage) final {}
    virtual void pushRoomFile(RTMMessage) final {}
    virtual void pushP2PChat(RTMMessage) final {}
    virtual void pushP2PCmd(RTMMessage) final {}
    virtual void pushGroupChat(RTMMessage) final {}
    virtual void pushGroupCmd(RTMMessage) final {}
    virtual void pushRoomChat(RTMMessage) final {}
    virtual void pushRoomCmd(RTMMessage) final {}
    virtual void pushEvent(int32_t, const std::string &, int64_t, int32_t, const std::string &,
                           const std::string &) final {}
#endif

    /* Client-protocol pushes (pushbroadcastmsg split by mtype like the others; kickout;
     * kickoutroom). */
    virtual void pushBroadcastMessage(MessageArg /*message*/) {}
    virtual void pushBroadcastFile(MessageArg /*message*/) {}
    virtual void pushBroadcastChat(MessageArg /*message*/) {}
    virtual void pushBroadcastAudio(MessageArg /*message*/) {}
    virtual void pushBroadcastCmd(MessageArg /*message*/) {}
    virtual void kickout() {}
    virtual void kickoutRoom(int64_t /*roomId*/) {}

    /* A listen command completed: code 0 when the server confirmed it; 20002 (closed), 20003
     * (timeout), 20012 (not connected) when not confirmed yet but kept in the desired state for
     * the next connection; else the server's refusal (see rtm_monitor.completed). */
    virtual void commandCompleted(uint32_t /*requestId*/, int64_t /*code*/, StringArg /*ex*/) {}
    /* Establishing a non-empty desired listen state on a connection (the first one included)
     * ended: code 0 when the server's state equals it. */
    virtual void restored(int64_t /*code*/) {}
    /* A push could not be decoded, had an unknown method (code 20004) or was larger than the
     * receive buffer (code 10002, skipped); a twoway one (its seq) was answered with code.
     * frameLen is the whole frame's length. */
    virtual void badPush(StringArg /*method*/, int64_t /*code*/, bool /*twoway*/, uint32_t /*seq*/,
                         size_t /*frameLen*/) {}
    /* Why the attempt to endpoint failed (after connected(endpoint, false, ..)) or its
     * connection ended (after closed()), and when the next attempt is advised (ms from now).
     * Not in the official SDK. */
    virtual void disconnected(StringArg /*endpoint*/, const rtm_close_reason & /*reason*/, uint64_t /*retryInMs*/) {}
};

/* Fails to compile when instantiated (for calls that must not bind to anything). */
template <typename... T>
struct DependentFalse {
    static const bool value = false;
};

/* The monitor's side of a listener (rtm::Listener, rtm::WkListener): the C callbacks that
 * call the RTMServerPushMonitor's virtuals, and the exception kept from a callback. */
class MonitorBridge {
protected:
    explicit MonitorBridge(RTMServerPushMonitor &monitor) noexcept : monitor_(monitor) {}

    /* Rethrows the first exception a callback threw during the call that returned `status`. */
    Status done(Status status) {
#if defined(__cpp_exceptions)
        if (error_) {
            std::exception_ptr e = error_;
            error_ = nullptr;
            std::rethrow_exception(e);
        }
#endif
        return status;
    }

    static MonitorBridge &self(void *user) noexcept { return *static_cast<MonitorBridge *>(user); }

    /* Runs f(monitor) and keeps the first exception instead of letting it reach C. */
    template <typename F>
    static void guard(void *user, F &&f) noexcept {
        MonitorBridge &l = self(user);
#if defined(__cpp_exceptions)
        try {
            f(l.monitor_);
        } catch (...) {
            if (!l.error_) l.error_ = std::current_exception();
        }
#else
        f(l.monitor_);
#endif
    }

#ifdef RTM_LISTEN_VIEWS
    using Str = std::string_view;
    static Str str(rtm_str s) { return view(s); }

    template <typename F>
    static void withMessage(const rtm_message *m, F &&f) {
        RTMMessage msg;
        msg.fromUid = m->from_uid;
        msg.toId = m->to_id;
        msg.messageType = m->message_type;
        msg.messageId = m->message_id;
        msg.message = view(m->message);
        msg.attrs = view(m->attrs);
        msg.modifiedTime = m->modified_time;
        msg.infoStatus = m->info_status;
        msg.raw_ = m;
        msg.setInfo(m->translated_info, m->file_info);
        WuKongFields wk;
        if (const rtm_wk_message *w = m->wukong) {
            wk.fromUid = view(w->from_uid);
            wk.channelId = view(w->channel_id);
            wk.channelType = w->channel_type;
            wk.clientMsgNo = view(w->client_msg_no);
            wk.messageSeq = w->message_seq;
            wk.hasTopic = w->has_topic;
            wk.topic = view(w->topic);
            wk.hasContentType = w->has_content_type;
            wk.contentType = w->content_type;
            wk.headerFlags = w->header_flags;
            wk.setting = w->setting;
            wk.timestamp = w->timestamp;
            msg.wukong = &wk;
        }
        f(static_cast<const RTMMessage &>(msg));
    }
#else
    using Str = std::string;
    static Str str(rtm_str s) { return rtm::str(s); }

    template <typename F>
    static void withMessage(const rtm_message *m, F &&f) {
        RTMMessage msg;
        msg.fromUid = m->from_uid;
        msg.toId = m->to_id;
        msg.messageType = m->message_type;
        msg.messageId = m->message_id;
        msg.message = rtm::str(m->message);
        msg.attrs = rtm::str(m->attrs);
        msg.modifiedTime = m->modified_time;
        msg.infoStatus = m->info_status;
        if (const rtm_translated_info *ti = m->translated_info) {
            auto t = std::make_shared<TranslatedInfo>();
            t->sourceLanguage = rtm::str(ti->source_language);
            t->targetLanguage = rtm::str(ti->target_language);
            t->sourceText = rtm::str(ti->source_text);
            t->targetText = rtm::str(ti->target_text);
            /* Official SDK (reference §7.4): the text to show replaces the JSON. */
            msg.message = t->targetText.empty() ? t->sourceText : t->targetText;
            msg.translatedInfo = std::move(t);
        }
        if (const rtm_file_info *f0 = m->file_info) {
            auto fi = std::make_shared<FileInfo>();
            fi->url = rtm::str(f0->url);
            fi->surl = rtm::str(f0->surl);
            fi->language = rtm::str(f0->language);
            fi->size = static_cast<int32_t>(f0->size);
            fi->duration = static_cast<int32_t>(f0->duration);
            fi->isRTMAudio = f0->is_rtm_audio;
            /* Official SDK (reference §7.5): message cleared, attrs = custom when present. Not
             * for WuKongIM, whose payload is the message. */
            if (!m->wukong) {
                msg.message.clear();
                if (f0->has_custom) msg.attrs = rtm::str(f0->custom);
            }
            msg.fileInfo = std::move(fi);
        }
        if (const rtm_wk_message *w = m->wukong) {
            auto wk = std::make_shared<WuKongFields>();
            wk->fromUid = rtm::str(w->from_uid);
            wk->channelId = rtm::str(w->channel_id);
            wk->channelType = w->channel_type;
            wk->clientMsgNo = rtm::str(w->client_msg_no);
            wk->messageSeq = w->message_seq;
            wk->hasTopic = w->has_topic;
            wk->topic = rtm::str(w->topic);
            wk->hasContentType = w->has_content_type;
            wk->contentType = w->content_type;
            wk->headerFlags = w->header_flags;
            wk->setting = w->setting;
            wk->timestamp = w->timestamp;
            msg.wukong = std::move(wk);
        }
        f(std::move(msg));
    }
#endif

    using Mfn = void (RTMServerPushMonitor::*)(MessageArg);

    template <Mfn fn>
    static void onMessage(void *user, const rtm_message *m) noexcept {
        guard(user, [m](RTMServerPushMonitor &mon) {
            withMessage(m, [&mon](MessageArg msg) { (mon.*fn)(std::move(msg)); });
        });
    }

    static void onBroadcast(void *user, const rtm_message *m) noexcept {
        Mfn fn = &RTMServerPushMonitor::pushBroadcastMessage;
        switch (categoryOf(m->message_type)) {
        case Category::Chat: fn = &RTMServerPushMonitor::pushBroadcastChat; break;
        case Category::Audio: fn = &RTMServerPushMonitor::pushBroadcastAudio; break;
        case Category::Cmd: fn = &RTMServerPushMonitor::pushBroadcastCmd; break;
        case Category::File: fn = &RTMServerPushMonitor::pushBroadcastFile; break;
        case Category::Message: break;
        }
        guard(user, [m, fn](RTMServerPushMonitor &mon) {
            withMessage(m, [&mon, fn](MessageArg msg) { (mon.*fn)(std::move(msg)); });
        });
    }

    static void onConnected(void *user, rtm_str endpoint, bool ok, bool isReconnect) noexcept {
        guard(user, [&](RTMServerPushMonitor &mon) { mon.connected(str(endpoint), ok, isReconnect); });
    }
    static void onClosed(void *user, rtm_str endpoint, bool byError, bool isReconnect) noexcept {
        guard(user, [&](RTMServerPushMonitor &mon) { mon.closed(str(endpoint), byError, isReconnect); });
    }
    static void onEvent(void *user, int64_t pid, rtm_str event, int64_t uid, int64_t time, rtm_str endpoint,
                        rtm_str data) noexcept {
        guard(user, [&](RTMServerPushMonitor &mon) {
            mon.pushEvent(static_cast<EventInt>(pid), str(event), uid, static_cast<EventInt>(time), str(endpoint),
                          str(data));
        });
    }
    static void onPing(void *user) noexcept {
        guard(user, [](RTMServerPushMonitor &mon) { mon.ping(); });
    }
    static void onKickout(void *user) noexcept {
        guard(user, [](RTMServerPushMonitor &mon) { mon.kickout(); });
    }
    static void onKickoutRoom(void *user, int64_t rid) noexcept {
        guard(user, [rid](RTMServerPushMonitor &mon) { mon.kickoutRoom(rid); });
    }
    static void onCompleted(void *user, uint32_t requestId, int64_t code, rtm_str ex) noexcept {
        guard(user, [&](RTMServerPushMonitor &mon) { mon.commandCompleted(requestId, code, str(ex)); });
    }
    static void onRestored(void *user, int64_t code) noexcept {
        guard(user, [code](RTMServerPushMonitor &mon) { mon.restored(code); });
    }
    static void onBadPush(void *user, rtm_str method, int64_t code, bool twoway, uint32_t seq,
                          size_t frameLen) noexcept {
        guard(user, [&](RTMServerPushMonitor &mon) { mon.badPush(str(method), code, twoway, seq, frameLen); });
    }
    static void onDisconnected(void *user, rtm_str endpoint, const rtm_close_reason *reason,
                               uint64_t retryInMs) noexcept {
        guard(user, [&](RTMServerPushMonitor &mon) { mon.disconnected(str(endpoint), *reason, retryInMs); });
    }

    static rtm_monitor makeMonitor(MonitorBridge *self) noexcept {
        using M = RTMServerPushMonitor;
        rtm_monitor m{};
        m.user = self;
        m.connected = &onConnected;
        m.closed = &onClosed;
        m.push_p2p_message = &onMessage<&M::pushP2PMessage>;
        m.push_group_message = &onMessage<&M::pushGroupMessage>;
        m.push_room_message = &onMessage<&M::pushRoomMessage>;
        m.push_p2p_file = &onMessage<&M::pushP2PFile>;
        m.push_group_file = &onMessage<&M::pushGroupFile>;
        m.push_room_file = &onMessage<&M::pushRoomFile>;
        m.push_p2p_chat = &onMessage<&M::pushP2PChat>;
        m.push_p2p_audio = &onMessage<&M::pushP2PAudio>;
        m.push_p2p_cmd = &onMessage<&M::pushP2PCmd>;
        m.push_group_chat = &onMessage<&M::pushGroupChat>;
        m.push_group_audio = &onMessage<&M::pushGroupAudio>;
        m.push_group_cmd = &onMessage<&M::pushGroupCmd>;
        m.push_room_chat = &onMessage<&M::pushRoomChat>;
        m.push_room_audio = &onMessage<&M::pushRoomAudio>;
        m.push_room_cmd = &onMessage<&M::pushRoomCmd>;
        m.push_event = &onEvent;
        m.ping = &onPing;
        m.push_broadcast = &onBroadcast;
        m.kickout = &onKickout;
        m.kickout_room = &onKickoutRoom;
        m.completed = &onCompleted;
        m.restored = &onRestored;
        m.bad_push = &onBadPush;
        m.disconnected = &onDisconnected;
        return m;
    }

    RTMServerPushMonitor &monitor_;
#if defined(__cpp_exceptions)
    std::exception_ptr error_;
#endif
};

/* One listener: caller-owned storage inline, a monitor reference, the driving calls. */
class Listener : private MonitorBridge {
public:
    /* pid/secret: the project's credentials (secret at most 64 bytes); entropy: a few random
     * bits; timeouts 0 mean the defaults (30 s quest timeout, 20 s ping interval). Check
     * initStatus() (or operator bool): on failure every other call returns RTM_ERR_UNINIT. */
    Listener(uint32_t pid, Bytes secret, uint64_t entropy, RTMServerPushMonitor &monitor,
             uint32_t questTimeoutMs = 0, uint32_t pingIntervalMs = 0) noexcept
        : MonitorBridge(monitor) {
        Options o;
        o.questTimeoutMs = questTimeoutMs;
        o.pingIntervalMs = pingIntervalMs;
        init(pid, secret, entropy, o);
    }

    /* With options: timing, back-off and buffer sizes (RTM_ERR_BUFFER_TOO_SMALL from
     * initStatus() when they do not fit or are below the minimums). */
    Listener(uint32_t pid, Bytes secret, uint64_t entropy, RTMServerPushMonitor &monitor,
             const Options &options) noexcept
        : MonitorBridge(monitor) {
        init(pid, secret, entropy, options);
    }

    ~Listener() { rtm_listener_deinit(&storage_); }

    Listener(const Listener &) = delete;
    Listener &operator=(const Listener &) = delete;
    Listener(Listener &&) = delete;
    Listener &operator=(Listener &&) = delete;

    Status initStatus() const noexcept { return init_; }
    explicit operator bool() const noexcept { return init_ == RTM_OK; }

    /* The C handle, for the C functions. */
    rtm_listener *native() noexcept { return &storage_; }

    Status setUnixTime(uint64_t nowMs, int64_t unixMs) {
        return done(rtm_listener_set_unix_time(&storage_, nowMs, unixMs));
    }

    /* The transport connected (listen state is restored, queued commands are sent). */
    Status connected(uint64_t nowMs, Bytes endpoint = Bytes()) {
        return done(rtm_listener_connected(&storage_, nowMs, cstr(endpoint)));
    }

    /* An attempt to endpoint failed (e.g. ioError(RTM_IO_CONNECTION_REFUSED, errno)). */
    Status connectFailed(uint64_t nowMs, Bytes endpoint, const rtm_close_reason &reason) {
        return done(rtm_listener_connect_failed(&storage_, nowMs, cstr(endpoint), &reason));
    }

    /* The transport closed for `reason` (after RTM_CLOSE: pass the one closeReason() gives). */
    Status closed(uint64_t nowMs, const rtm_close_reason &reason) {
        return done(rtm_listener_closed(&storage_, nowMs, &reason));
    }

    /* Why the listener asked to close (after RTM_CLOSE): true and `out`, or false. */
    bool closeReason(rtm_close_reason &out) noexcept { return rtm_listener_close_reason(&storage_, &out) == RTM_OK; }

    /* FPNN encryption for every connection from the next connected() on (the current one keeps
     * what it started with); `enc` is read during the call only. RTM_ERR_KEY_* and the other
     * encryption statuses leave the listener as it was. */
    Status setEncryption(const rtm_encryption &enc) noexcept { return rtm_listener_set_encryption(&storage_, &enc); }
    /* Plaintext from the next connected() on. */
    Status disableEncryption() noexcept { return rtm_listener_set_encryption(&storage_, nullptr); }
    /* Stirs fresh entropy into the per-connection key generator (e.g. before each connect). */
    Status addEntropy(const void *data, size_t len) noexcept {
        return rtm_listener_add_entropy(&storage_, static_cast<const uint8_t *>(data), len);
    }

    /* Diagnostics and the listen state (desired vs confirmed by the server). */
    Status stats(rtm_stats &out) noexcept { return rtm_listener_stats(&storage_, &out); }
    bool inSync() noexcept {
        bool in = false;
        return rtm_listener_in_sync(&storage_, &in) == RTM_OK && in;
    }
    size_t pendingCommands() noexcept {
        size_t n = 0;
        return rtm_listener_pending_commands(&storage_, &n) == RTM_OK ? n : 0;
    }
    Status listenState(rtm_listen_which which, rtm_listen_state &out) noexcept {
        return rtm_listener_listen_state(&storage_, which, &out);
    }

    /* Feeds bytes; `consumed` says how many were taken (fewer when full: send transmit(), then
     * feed the rest). RTM_CLOSE: close the transport, then call closed(). */
    Status receive(uint64_t nowMs, const void *data, size_t len, size_t &consumed) {
        return done(rtm_listener_receive(&storage_, nowMs, static_cast<const uint8_t *>(data), len,
                                         &consumed));
    }

    Status handleTimeout(uint64_t nowMs) { return done(rtm_listener_handle_timeout(&storage_, nowMs)); }

    /* The bytes to send, valid until the next call on this listener. */
    Status transmit(const uint8_t *&data, size_t &len) noexcept {
        return rtm_listener_transmit(&storage_, &data, &len);
    }

    Status transmitDone(size_t n) { return done(rtm_listener_transmit_done(&storage_, n)); }

    /* When handleTimeout() has work next: true and `at`, or false. */
    bool nextTimeout(uint64_t &at) noexcept { return rtm_listener_next_timeout(&storage_, &at) == RTM_OK; }

    /* When to reconnect after closed()/connectFailed(): true and `at`, or false while
     * connected (and before the first attempt: connect at once). */
    bool reconnectAt(uint64_t &at) noexcept { return rtm_listener_reconnect_at(&storage_, &at) == RTM_OK; }

#if RTM_LISTEN_HAS_CXX17
    /* C++17 forms of the three above, and the bytes to send as a view (empty on error). */
    std::optional<rtm_close_reason> closeReason() noexcept {
        rtm_close_reason r{};
        if (closeReason(r)) return r;
        return std::nullopt;
    }
    std::optional<uint64_t> nextTimeout() noexcept {
        uint64_t at = 0;
        if (nextTimeout(at)) return at;
        return std::nullopt;
    }
    std::optional<uint64_t> reconnectAt() noexcept {
        uint64_t at = 0;
        if (reconnectAt(at)) return at;
        return std::nullopt;
    }
    std::string_view transmit() noexcept {
        const uint8_t *data = nullptr;
        size_t len = 0;
        if (rtm_listener_transmit(&storage_, &data, &len) != RTM_OK) return std::string_view();
        return std::string_view(reinterpret_cast<const char *>(data), len);
    }
#endif

    /* Listen commands at the host's time nowMs, with raw lists (any contiguous storage; no
     * copy). */
    Status addListenAt(uint64_t nowMs, const rtm_ids &ids, uint32_t *requestId = nullptr) {
        uint32_t id = 0;
        return done(rtm_listen_add(&storage_, nowMs, &ids, requestId ? requestId : &id));
    }
    Status removeListenAt(uint64_t nowMs, const rtm_ids &ids, uint32_t *requestId = nullptr) {
        uint32_t id = 0;
        return done(rtm_listen_remove(&storage_, nowMs, &ids, requestId ? requestId : &id));
    }
    Status setListenAt(uint64_t nowMs, const rtm_ids &ids, uint32_t *requestId = nullptr) {
        uint32_t id = 0;
        return done(rtm_listen_set(&storage_, nowMs, &ids, requestId ? requestId : &id));
    }

    /* Listen commands with the official SDK's sets (copied onto the stack, no heap). */
    Status addListenAt(uint64_t nowMs, const std::set<int64_t> &groupIds, const std::set<int64_t> &roomIds,
                       const std::set<int64_t> &userIds, const std::set<std::string> &events,
                       uint32_t *requestId = nullptr) {
        return withSets(rtm_listen_add, nowMs, groupIds, roomIds, userIds, events, requestId);
    }
    Status removeListenAt(uint64_t nowMs, const std::set<int64_t> &groupIds, const std::set<int64_t> &roomIds,
                          const std::set<int64_t> &userIds, const std::set<std::string> &events,
                          uint32_t *requestId = nullptr) {
        return withSets(rtm_listen_remove, nowMs, groupIds, roomIds, userIds, events, requestId);
    }
    Status setListenAt(uint64_t nowMs, const std::set<int64_t> &groupIds, const std::set<int64_t> &roomIds,
                       const std::set<int64_t> &userIds, const std::set<std::string> &events,
                       uint32_t *requestId = nullptr) {
        return withSets(rtm_listen_set, nowMs, groupIds, roomIds, userIds, events, requestId);
    }

    /* setlisten with the four "all" flags. */
    Status setListenAllAt(uint64_t nowMs, bool allGroup, bool allRoom, bool allP2P, bool allEvent,
                          uint32_t *requestId = nullptr) {
        uint32_t id = 0;
        return done(rtm_listen_set_all(&storage_, nowMs, allGroup, allRoom, allP2P, allEvent,
                                       requestId ? requestId : &id));
    }

    /* The official client's names do not exist here: a call written for it (e.g.
     * `setListen(true, false, true, false, 0)`) would otherwise bind with its arguments
     * shifted (the flags into nowMs, the timeout into allEvent). */
#define RTM_LISTEN_OFFICIAL_NAMES_MESSAGE_                                                             \
    "rtm::Listener is the sans-IO engine: its listen commands take the host's time first and are "    \
    "named addListenAt/removeListenAt/setListenAt/setListenAllAt. The official "                       \
    "addListen/removeListen/setListen(...) are rtm::RTMServerClient's (#include \"rtm_server_client.hpp\")."
    template <typename... A>
    Status addListen(A &&...) {
        static_assert(DependentFalse<A...>::value,
                      RTM_LISTEN_OFFICIAL_NAMES_MESSAGE_);
        return RTM_ERR_INVALID_ARG;
    }
    template <typename... A>
    Status removeListen(A &&...) {
        static_assert(DependentFalse<A...>::value,
                      RTM_LISTEN_OFFICIAL_NAMES_MESSAGE_);
        return RTM_ERR_INVALID_ARG;
    }
    template <typename... A>
    Status setListen(A &&...) {
        static_assert(DependentFalse<A...>::value,
                      RTM_LISTEN_OFFICIAL_NAMES_MESSAGE_);
        return RTM_ERR_INVALID_ARG;
    }
#undef RTM_LISTEN_OFFICIAL_NAMES_MESSAGE_

private:
    using ListenFn = rtm_status (*)(rtm_listener *, uint64_t, const rtm_ids *, uint32_t *);

    void init(uint32_t pid, Bytes secret, uint64_t entropy, const Options &o) noexcept {
        rtm_config config{};
        config.pid = pid;
        config.secret = cstr(secret);
        config.entropy = entropy;
        config.quest_timeout_ms = o.questTimeoutMs;
        config.ping_interval_ms = o.pingIntervalMs;
        config.monitor = makeMonitor(static_cast<MonitorBridge *>(this));
        config.buffer = o.buffer;
        config.buffer_len = o.bufferLen;
        config.rx_size = o.rxSize;
        config.tx_size = o.txSize;
        config.backoff = o.backoff;
        config.encryption = o.encryption;
#ifdef RTM_LISTEN_VIEWS
        config.lazy_info = o.lazyInfo;
#endif
        init_ = rtm_listener_init(&storage_, sizeof storage_, &config);
    }

    Status withSets(ListenFn fn, uint64_t nowMs, const std::set<int64_t> &gids, const std::set<int64_t> &rids,
                    const std::set<int64_t> &uids, const std::set<std::string> &events, uint32_t *requestId) {
        if (gids.size() + rids.size() + uids.size() > RTM_LISTEN_HPP_MAX_SET_IDS) return RTM_ERR_TOO_MANY_IDS;
        /* Only login and logout exist: a set of more than two names holds an unsupported one. */
        if (events.size() > 2) return RTM_ERR_UNSUPPORTED_EVENT;
        int64_t ids[RTM_LISTEN_HPP_MAX_SET_IDS];
        rtm_str names[2];
        size_t n = 0;
        rtm_ids list{};
        list.gids = ids + n;
        for (int64_t id : gids) ids[n++] = id;
        list.gids_len = gids.size();
        list.rids = ids + n;
        for (int64_t id : rids) ids[n++] = id;
        list.rids_len = rids.size();
        list.uids = ids + n;
        for (int64_t id : uids) ids[n++] = id;
        list.uids_len = uids.size();
        size_t e = 0;
        for (const std::string &name : events) names[e++] = cstr(name);
        list.events = names;
        list.events_len = e;
        uint32_t id = 0;
        return done(fn(&storage_, nowMs, &list, requestId ? requestId : &id));
    }

    rtm_listener storage_{};
    Status init_ = RTM_ERR_UNINIT;
};

/* WuKongIM's options (rtm_wk_config without the credentials, entropy and monitor). */
struct WkOptions {
    uint8_t version = 5;      /* asked for in CONNECT (2 to 6) */
    uint8_t deviceFlag = 2;   /* 0 app, 1 web, 2 pc: pick one real clients of the uid do not use */
    uint64_t pingIntervalMs = 30000;
    uint64_t deadAfterMs = 70000;
    uint64_t connectTimeoutMs = 10000;
    uint64_t dedupTtlMs = 360000;
    const uint8_t *roomTypes = nullptr; /* channel types delivered as rooms; none: {9} */
    size_t roomTypesLen = 0;
    bool othersAsGroups = true;
    bool ackRejected = true;
};

/* A WuKongIM monitor user (rtm_wk_listener): storage inline (32 KiB: allocate the object
 * statically or on the heap), the same RTMServerPushMonitor as rtm::Listener, driven the same
 * way (receive, transmit/transmitDone, handleTimeout at nextTimeout, closed, reconnectAt).
 * Messages carry RTMMessage::wukong with WuKongIM's string ids. EVENT packets call pushEvent
 * (pid and uid 0, event the type, time its timestamp, endpoint its id); a kick calls kickout;
 * a RECV that cannot be delivered calls badPush("RECV", 10003, ...). Non-copyable, non-movable. */
class WkListener : private MonitorBridge {
public:
    /* entropy: at least 32 bytes from the OS's random source. Check initStatus(). */
    WkListener(Bytes uid, Bytes token, Bytes deviceId, const void *entropy, size_t entropyLen,
               RTMServerPushMonitor &monitor, const WkOptions &o = WkOptions()) noexcept
        : MonitorBridge(monitor) {
        rtm_wk_config c = rtm_wk_config_default();
        c.uid = cstr(uid);
        c.token = cstr(token);
        c.device_id = cstr(deviceId);
        c.version = o.version;
        c.device_flag = o.deviceFlag;
        c.ping_interval_ms = o.pingIntervalMs;
        c.dead_after_ms = o.deadAfterMs;
        c.connect_timeout_ms = o.connectTimeoutMs;
        c.dedup_ttl_ms = o.dedupTtlMs;
        c.room_types = o.roomTypes;
        c.room_types_len = o.roomTypesLen;
        c.others_as_groups = o.othersAsGroups;
        c.ack_rejected = o.ackRejected;
        c.entropy = static_cast<const uint8_t *>(entropy);
        c.entropy_len = entropyLen;
        c.monitor = makeMonitor(static_cast<MonitorBridge *>(this));
        init_ = rtm_wk_listener_init(&storage_, sizeof storage_, &c);
    }
    ~WkListener() { rtm_wk_listener_deinit(&storage_); }

    WkListener(const WkListener &) = delete;
    WkListener &operator=(const WkListener &) = delete;
    WkListener(WkListener &&) = delete;
    WkListener &operator=(WkListener &&) = delete;

    Status initStatus() const noexcept { return init_; }
    explicit operator bool() const noexcept { return init_ == RTM_OK; }
    rtm_wk_listener *native() noexcept { return &storage_; }

    Status setUnixTime(uint64_t nowMs, int64_t unixMs) {
        return done(rtm_wk_listener_set_unix_time(&storage_, nowMs, unixMs));
    }
    /* The transport connected: send the CONNECT transmit() now holds. */
    Status connected(uint64_t nowMs, Bytes endpoint = Bytes()) {
        return done(rtm_wk_listener_connected(&storage_, nowMs, cstr(endpoint)));
    }
    Status connectFailed(uint64_t nowMs, Bytes endpoint, const rtm_close_reason &reason) {
        return done(rtm_wk_listener_connect_failed(&storage_, nowMs, cstr(endpoint), &reason));
    }
    Status closed(uint64_t nowMs, const rtm_close_reason &reason) {
        return done(rtm_wk_listener_closed(&storage_, nowMs, &reason));
    }
    bool closeReason(rtm_close_reason &out) noexcept {
        return rtm_wk_listener_close_reason(&storage_, &out) == RTM_OK;
    }
    Status receive(uint64_t nowMs, const void *data, size_t len, size_t &consumed) {
        return done(rtm_wk_listener_receive(&storage_, nowMs, static_cast<const uint8_t *>(data), len, &consumed));
    }
    Status handleTimeout(uint64_t nowMs) { return done(rtm_wk_listener_handle_timeout(&storage_, nowMs)); }
    Status transmit(const uint8_t *&data, size_t &len) noexcept {
        return rtm_wk_listener_transmit(&storage_, &data, &len);
    }
    Status transmitDone(size_t n) { return done(rtm_wk_listener_transmit_done(&storage_, n)); }
    bool nextTimeout(uint64_t &at) noexcept { return rtm_wk_listener_next_timeout(&storage_, &at) == RTM_OK; }
    bool reconnectAt(uint64_t &at) noexcept { return rtm_wk_listener_reconnect_at(&storage_, &at) == RTM_OK; }
    /* The counters; true when logged in. */
    bool stats(rtm_wk_stats &out) noexcept { return rtm_wk_listener_stats(&storage_, &out) == RTM_OK; }

    /* One webhook POST (its `event` query value and body): the items in the listen set reach
     * the monitor before it returns; result.status is the HTTP status to answer (200 only
     * when every item was handled). scratch holds one item's payload and strings. */
    Status webhook(uint64_t nowMs, Bytes event, const void *body, size_t len, void *scratch, size_t scratchLen,
                   rtm_wk_webhook_result &result) {
        return done(rtm_wk_listener_webhook(&storage_, nowMs, cstr(event), static_cast<const uint8_t *>(body), len,
                                            static_cast<uint8_t *>(scratch), scratchLen, &result));
    }
    /* What the webhooks deliver (string ids; subscribing the monitor uid to groups and rooms is
     * an HTTP call: rtm_wk_subscribers_body). */
    Status listenAdd(const rtm_wk_ids &ids) noexcept { return rtm_wk_listen_add(&storage_, &ids); }
    Status listenRemove(const rtm_wk_ids &ids) noexcept { return rtm_wk_listen_remove(&storage_, &ids); }
    Status listenSet(const rtm_wk_ids &ids) noexcept { return rtm_wk_listen_set(&storage_, &ids); }
    Status listenAll(bool p2p, bool groups, bool rooms, bool events) noexcept {
        return rtm_wk_listen_set_all(&storage_, p2p, groups, rooms, events);
    }

private:
    rtm_wk_listener storage_{};
    Status init_ = RTM_ERR_UNINIT;
};

} /* namespace rtm */

#endif /* RTM_LISTEN_HPP */
