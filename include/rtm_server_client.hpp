/*
 * rtm::RTMServerClient: the official RTM C++ server SDK's client, as a listener. C++11,
 * header-only over the C ABI (rtm_listen.h) and the adapter (rtm_listen.hpp); POSIX (a TCP
 * socket, one background thread, poll).
 *
 *     #include "rtm_server_client.hpp"     // instead of the official "rtm.h"
 *     using namespace rtm;
 *
 *     RTMServerClientPtr client(new RTMServerClient(pid, secret, "host:port"));
 *     client->setServerPushMonitor(make_shared<MyMonitor>());
 *     client->connect();
 *     int32_t code = client->addListen(gids, rids, uids, events);        // 0: confirmed
 *     client->setListen(true, false, true, false, [](int32_t errorCode) { ... });
 *
 * What it does: the official constructor, connect(), connected(), endpoint(), close(),
 * setQuestTimeout(), setAutoReconnect(), setServerPushMonitor(),
 * setRegressiveConnectStrategy(), and every addListen / removeListen / setListen form (sync:
 * returns the error code; async: std::function<void(int32_t errorCode)> called exactly once;
 * `timeout` in seconds, 0 = the quest timeout). The engine's reconnect back-off and listen
 * restoration run underneath: listen intent survives drops and outages and is restored on
 * every connection (the official SDK says "only valid for the current connection").
 *
 * Codes: 0 when the server confirmed the command; 20003 (timeout), 20002 (closed), 20012
 * (not connected) when it was not confirmed in time but its intent is KEPT and applied on the
 * next connection; otherwise the server's refusal (e.g. 200020). Refused locally without
 * being applied: 200032 (more ids than the listener holds, 64 by default), 200034 (an event
 * other than login/logout), 20002 for commands still queued when close() is called.
 *
 * Threads: every call is safe from any thread. Monitor callbacks run on the client's thread,
 * one at a time, never with a lock held: a callback may call the client (async forms, close;
 * a sync listen call made there cannot wait for the thread that runs it, so it applies the
 * command and returns 20003 at once, the intent kept). The monitor must not block for long:
 * pushes wait behind it, as with the official SDK's worker threads.
 *
 * Memory: like the official SDK, the client allocates (strings, sets, callbacks, its thread,
 * its buffers: pushes up to RTM_SERVER_CLIENT_RX_SIZE, 64 KiB by default, are read whole,
 * larger ones answered with 10002 and reported to badPush); the C library never does.
 *
 * Encryption: the official enableEncryptorByPemFile / ByDerFile / ByPemData / ByDerData and
 * enableEncryptor(curve, rawKey) (packageMode = true, reinforce = false by default), returning
 * false for a key the library refuses (an unreadable file too). Effective from the next
 * connection: every connection then makes a fresh key pair from std::random_device entropy
 * (stirred in again before each connect) and runs the FPNN `*key` exchange.
 *
 * Not here (calls the official client has that a listener cannot honour) fail to compile with
 * a message: every quest that is not a listen command (sendChat, getToken, addGroupMembers,
 * ...).
 */
#ifndef RTM_SERVER_CLIENT_HPP
#define RTM_SERVER_CLIENT_HPP

#ifdef RTM_LISTEN_VIEWS
#error "rtm_server_client.hpp delivers the official types: include it in a translation unit without RTM_LISTEN_VIEWS"
#endif

#include "rtm_listen.hpp"

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* The engine's receive buffer: the largest push read whole (larger ones, up to 8 MiB, are
 * answered with 10002 and reported to badPush). */
#ifndef RTM_SERVER_CLIENT_RX_SIZE
#define RTM_SERVER_CLIENT_RX_SIZE 65536
#endif

namespace rtm {

/* FPNN codes the client returns itself. */
enum : int32_t {
    FPNN_EC_OK = 0,
    FPNN_EC_CORE_UNKNOWN_ERROR = 20001,
    FPNN_EC_CORE_CONNECTION_CLOSED = 20002,
    FPNN_EC_CORE_TIMEOUT = 20003,
    FPNN_EC_CORE_WORK_QUEUE_FULL = 20011,
    FPNN_EC_CORE_INVALID_CONNECTION = 20012,
    RTM_EC_TOO_MANY_ITEMS_IN_PARAMETERS = 200032,
    RTM_EC_INVALID_PARAMETER = 200034
};

namespace client_detail {

inline uint64_t monoMs() {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<uint64_t>(t.tv_sec) * 1000u + static_cast<uint64_t>(t.tv_nsec) / 1000000u;
}

inline int64_t unixMs() {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return static_cast<int64_t>(t.tv_sec) * 1000 + static_cast<int64_t>(t.tv_nsec) / 1000000;
}

/* Fills `out` from std::random_device (the system's generator on the usual platforms). */
inline void osEntropy(uint8_t *out, size_t n) {
    std::random_device rd;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = static_cast<uint32_t>(rd());
        for (size_t k = 0; k < 4 && i + k < n; k++) out[i + k] = static_cast<uint8_t>(v >> (8 * k));
    }
}

/* Overwrites `n` bytes at `p` with zeros in a way the compiler keeps. */
inline void wipe(void *p, size_t n) {
    volatile uint8_t *b = static_cast<volatile uint8_t *>(p);
    while (n--) *b++ = 0;
}

/* Entropy bytes handed to the engine per setting and per connection. */
enum { ENTROPY_BYTES = 64 };

/* The encryption the client was asked for (enableEncryptor*): the key as given, how to read
 * it, the mode and the AES key size. The key is public; nothing secret is kept here. */
struct EncryptionSetting {
    bool on = false;
    std::string key;
    rtm_key_format format = RTM_KEY_AUTO;
    std::string curve; /* empty: none */
    bool packageMode = true;
    bool reinforce = false;

    /* The C setting over this one's bytes and `entropy` (valid as long as both are). */
    rtm_encryption c(const uint8_t *entropy, size_t len) const {
        return rtm::encryption(Bytes(key.data(), key.size()), format, curve.empty() ? nullptr : curve.c_str(),
                               packageMode, reinforce, Bytes(reinterpret_cast<const char *>(entropy), len));
    }
};

inline rtm_io_kind ioKind(int err) {
    switch (err) {
    case ECONNREFUSED: return RTM_IO_CONNECTION_REFUSED;
    case ECONNRESET: return RTM_IO_CONNECTION_RESET;
    case ECONNABORTED: return RTM_IO_CONNECTION_ABORTED;
    case ETIMEDOUT: return RTM_IO_TIMED_OUT;
    case EHOSTUNREACH:
    case ENETUNREACH: return RTM_IO_UNREACHABLE;
    case EPIPE: return RTM_IO_BROKEN_PIPE;
    default: return RTM_IO_OTHER;
    }
}

/* A listen command waiting for its completion (or, before that, for a pending slot). */
struct Command {
    enum Op { Add, Remove, Set, SetAll } op = Add;
    std::set<int64_t> gids, rids, uids;
    std::set<std::string> events;
    bool flags[4] = {false, false, false, false};
    std::function<void(int32_t)> callback; /* async */
    std::shared_ptr<std::pair<bool, int32_t> > waiter; /* sync: done, code */
    uint64_t deadline = 0;
};

/* The client's state, shared by the facade and its thread (which outlives a facade destroyed
 * from a callback). Everything below `mu` is guarded by it. It is the engine's monitor: engine
 * callbacks (run under `mu`) queue the user's callbacks, which the thread runs unlocked. */
class Core : public RTMServerPushMonitor {
public:
    Core(int32_t pid, const std::string &secret, const std::string &endpoint)
        : pid_(pid), secret_(secret), endpoint_(endpoint) {
        std::memset(&backoff_, 0, sizeof backoff_);
        backoff_.failed_window_ms = 1500;
        backoff_.immediate = 5;
        backoff_.first_ms = 2000;
        backoff_.max_ms = 120000;
        backoff_.linear_steps = 5;
    }
    ~Core() {
        if (wake_[0] >= 0) ::close(wake_[0]);
        if (wake_[1] >= 0) ::close(wake_[1]);
    }

    const int32_t pid_;
    const std::string secret_;
    const std::string endpoint_;

    std::mutex mu;
    std::condition_variable cv; /* completions, connection changes */
    std::shared_ptr<RTMServerPushMonitor> monitor;
    int questTimeoutSec = 0; /* 0: the engine's 30 s */
    bool autoReconnect = true;
    rtm_backoff backoff_;
    std::vector<uint8_t> engineBuffers; /* lent to the engine: RX, TX, JSON scratch */
    std::unique_ptr<Listener> engine;   /* created at the first start */
    std::thread thread;
    std::thread::id threadId;
    bool stop = false;
    bool running = false;
    bool up = false;            /* a connection is established */
    bool connectWanted = false; /* connect() or a listen call asked for a connection */
    uint64_t attempts = 0;      /* connection attempts ended (up or failed) */
    std::deque<Command> queue;  /* commands not yet accepted by the engine (slots full) */
    std::map<uint32_t, Command> pending; /* accepted, by request id */
    std::vector<std::function<void()> > ready; /* user callbacks to run unlocked */
    bool submitting = false;                   /* inside the engine's listen call (pump) */
    std::map<uint32_t, int32_t> early;         /* completions during it (an in-sync command) */
    EncryptionSetting encryption;              /* enableEncryptor*: given to the engine */
    int wake_[2] = {-1, -1};

    bool onThread() const { return std::this_thread::get_id() == threadId; }

    void wake() {
        if (wake_[1] >= 0) {
            char c = 1;
            ssize_t n = ::write(wake_[1], &c, 1);
            (void)n;
        }
    }

    uint32_t defaultWaitMs() const { return static_cast<uint32_t>(questTimeoutSec > 0 ? questTimeoutSec : 30) * 1000u; }

    /* Creates the engine (first use) and starts the thread if it is not running. Locked. */
    bool startLocked(const std::shared_ptr<Core> &self) {
        if (!engine) {
            Options o;
            o.questTimeoutMs = questTimeoutSec > 0 ? static_cast<uint32_t>(questTimeoutSec) * 1000u : 0;
            o.backoff = &backoff_;
            engineBuffers.resize(RTM_BUFFER_SIZE(RTM_SERVER_CLIENT_RX_SIZE, 4096));
            o.buffer = engineBuffers.data();
            o.bufferLen = engineBuffers.size();
            o.rxSize = RTM_SERVER_CLIENT_RX_SIZE;
            o.txSize = 4096;
            std::random_device rd;
            uint64_t entropy = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(unixMs()) ^
                               reinterpret_cast<uintptr_t>(this);
            uint8_t keyEntropy[ENTROPY_BYTES];
            if (encryption.on) {
                osEntropy(keyEntropy, sizeof keyEntropy);
                o.encryption = encryption.c(keyEntropy, sizeof keyEntropy);
            }
            engine.reset(new Listener(static_cast<uint32_t>(pid_), secret_, entropy, *this, o));
            wipe(keyEntropy, sizeof keyEntropy);
            if (!*engine) {
                engine.reset();
                return false;
            }
        }
        if (wake_[0] < 0) {
            if (::pipe(wake_) != 0) return false;
            for (int i = 0; i < 2; i++) {
                ::fcntl(wake_[i], F_SETFL, ::fcntl(wake_[i], F_GETFL) | O_NONBLOCK);
                ::fcntl(wake_[i], F_SETFD, FD_CLOEXEC);
            }
        }
        if (!running) {
            if (thread.joinable()) thread.join(); /* a previous run that ended */
            stop = false;
            running = true;
            thread = std::thread(&Core::run, this, self);
            threadId = thread.get_id();
        }
        return true;
    }

    /* Completes a command with `code` (its callback runs later, unlocked). Locked. */
    void complete(Command &c, int32_t code) {
        if (c.waiter) {
            c.waiter->first = true;
            c.waiter->second = code;
            cv.notify_all();
        } else if (c.callback) {
            std::function<void(int32_t)> cb = std::move(c.callback);
            ready.push_back([cb, code]() { cb(code); });
        }
    }

    /* Hands queued commands to the engine while it has slots. Locked. */
    void pump() {
        while (!queue.empty()) {
            Command &c = queue.front();
            uint32_t id = 0;
            uint64_t now = monoMs();
            Status st;
            submitting = true;
            early.clear();
            switch (c.op) {
            case Command::Add: st = engine->addListenAt(now, c.gids, c.rids, c.uids, c.events, &id); break;
            case Command::Remove: st = engine->removeListenAt(now, c.gids, c.rids, c.uids, c.events, &id); break;
            case Command::Set: st = engine->setListenAt(now, c.gids, c.rids, c.uids, c.events, &id); break;
            default: st = engine->setListenAllAt(now, c.flags[0], c.flags[1], c.flags[2], c.flags[3], &id); break;
            }
            submitting = false;
            if (st == RTM_ERR_TOO_MANY_PENDING) return; /* a completion frees a slot */
            Command taken = std::move(c);
            queue.pop_front();
            std::map<uint32_t, int32_t>::iterator done = early.find(id);
            if (st == RTM_OK && done != early.end()) {
                complete(taken, done->second); /* completed at once (already in sync) */
            } else if (st == RTM_OK) {
                pending[id] = std::move(taken);
            } else {
                complete(taken, st == RTM_ERR_TOO_MANY_IDS        ? RTM_EC_TOO_MANY_ITEMS_IN_PARAMETERS
                                : st == RTM_ERR_UNSUPPORTED_EVENT ? RTM_EC_INVALID_PARAMETER
                                                                  : FPNN_EC_CORE_UNKNOWN_ERROR);
            }
        }
    }

    /* Commands past their deadline complete with 20003 (the engine keeps an accepted one's
     * intent; a queued one is dropped). Locked. Returns the next deadline, or 0. */
    uint64_t expire(uint64_t now) {
        uint64_t next = 0;
        for (std::map<uint32_t, Command>::iterator it = pending.begin(); it != pending.end();) {
            if (it->second.deadline <= now) {
                complete(it->second, FPNN_EC_CORE_TIMEOUT);
                it = pending.erase(it);
            } else {
                if (!next || it->second.deadline < next) next = it->second.deadline;
                ++it;
            }
        }
        for (std::deque<Command>::iterator it = queue.begin(); it != queue.end();) {
            if (it->deadline <= now) {
                complete(*it, FPNN_EC_CORE_TIMEOUT);
                it = queue.erase(it);
            } else {
                if (!next || it->deadline < next) next = it->deadline;
                ++it;
            }
        }
        return next;
    }

    /* Runs the user's callbacks collected so far, unlocked. */
    void dispatch(std::unique_lock<std::mutex> &lk) {
        while (!ready.empty()) {
            std::vector<std::function<void()> > run;
            run.swap(ready);
            lk.unlock();
            for (size_t i = 0; i < run.size(); i++) {
#if defined(__cpp_exceptions)
                try {
                    run[i]();
                } catch (...) {
                    /* a callback's exception ends with it (the official SDK's worker threads
                     * do the same); the client goes on */
                }
#else
                run[i]();
#endif
            }
            lk.lock();
        }
    }

    /* Queues a call of the user's monitor. Locked. */
    template <typename F>
    void toUser(F f) {
        std::shared_ptr<RTMServerPushMonitor> m = monitor;
        if (m) ready.push_back([m, f]() mutable { f(*m); });
    }

    /* ---- the engine's callbacks (locked) ---- */
    struct Msg {
        void (RTMServerPushMonitor::*fn)(RTMMessage);
        RTMMessage message;
        void operator()(RTMServerPushMonitor &m) { (m.*fn)(std::move(message)); }
    };
    void msg(void (RTMServerPushMonitor::*fn)(RTMMessage), RTMMessage &m) {
        Msg c;
        c.fn = fn;
        c.message = std::move(m);
        toUser(c);
    }
    typedef RTMServerPushMonitor M;
    void connected(const std::string &ep, bool ok, bool isReconnect) override {
        up = ok;
        toUser([ep, ok, isReconnect](M &m) { m.connected(ep, ok, isReconnect); });
    }
    void closed(const std::string &ep, bool byError, bool isReconnect) override {
        up = false;
        toUser([ep, byError, isReconnect](M &m) { m.closed(ep, byError, isReconnect); });
    }
    void pushP2PMessage(RTMMessage m) override { msg(&M::pushP2PMessage, m); }
    void pushGroupMessage(RTMMessage m) override { msg(&M::pushGroupMessage, m); }
    void pushRoomMessage(RTMMessage m) override { msg(&M::pushRoomMessage, m); }
    void pushP2PFile(RTMMessage m) override { msg(&M::pushP2PFile, m); }
    void pushGroupFile(RTMMessage m) override { msg(&M::pushGroupFile, m); }
    void pushRoomFile(RTMMessage m) override { msg(&M::pushRoomFile, m); }
    void pushP2PChat(RTMMessage m) override { msg(&M::pushP2PChat, m); }
    void pushP2PAudio(RTMMessage m) override { msg(&M::pushP2PAudio, m); }
    void pushP2PCmd(RTMMessage m) override { msg(&M::pushP2PCmd, m); }
    void pushGroupChat(RTMMessage m) override { msg(&M::pushGroupChat, m); }
    void pushGroupAudio(RTMMessage m) override { msg(&M::pushGroupAudio, m); }
    void pushGroupCmd(RTMMessage m) override { msg(&M::pushGroupCmd, m); }
    void pushRoomChat(RTMMessage m) override { msg(&M::pushRoomChat, m); }
    void pushRoomAudio(RTMMessage m) override { msg(&M::pushRoomAudio, m); }
    void pushRoomCmd(RTMMessage m) override { msg(&M::pushRoomCmd, m); }
    void pushBroadcastMessage(RTMMessage m) override { msg(&M::pushBroadcastMessage, m); }
    void pushBroadcastFile(RTMMessage m) override { msg(&M::pushBroadcastFile, m); }
    void pushBroadcastChat(RTMMessage m) override { msg(&M::pushBroadcastChat, m); }
    void pushBroadcastAudio(RTMMessage m) override { msg(&M::pushBroadcastAudio, m); }
    void pushBroadcastCmd(RTMMessage m) override { msg(&M::pushBroadcastCmd, m); }
    void pushEvent(int32_t pid, const std::string &event, int64_t uid, int32_t time, const std::string &ep,
                   const std::string &data) override {
        toUser([pid, event, uid, time, ep, data](M &m) { m.pushEvent(pid, event, uid, time, ep, data); });
    }
    void ping() override {
        toUser([](M &m) { m.ping(); });
    }
    void kickout() override {
        toUser([](M &m) { m.kickout(); });
    }
    void kickoutRoom(int64_t rid) override {
        toUser([rid](M &m) { m.kickoutRoom(rid); });
    }
    void commandCompleted(uint32_t id, int64_t code, const std::string &ex) override {
        std::map<uint32_t, Command>::iterator it = pending.find(id);
        if (it != pending.end()) {
            complete(it->second, static_cast<int32_t>(code));
            pending.erase(it);
        } else if (submitting) {
            early[id] = static_cast<int32_t>(code);
        }
        toUser([id, code, ex](M &m) { m.commandCompleted(id, code, ex); });
    }
    void restored(int64_t code) override {
        toUser([code](M &m) { m.restored(code); });
    }
    void badPush(const std::string &method, int64_t code, bool twoway, uint32_t seq, size_t frameLen) override {
        toUser([method, code, twoway, seq, frameLen](M &m) { m.badPush(method, code, twoway, seq, frameLen); });
    }
    void disconnected(const std::string &ep, const rtm_close_reason &reason, uint64_t retryInMs) override {
        rtm_close_reason r = reason;
        toUser([ep, r, retryInMs](M &m) { m.disconnected(ep, r, retryInMs); });
    }

    /* ---- the thread ---- */

    /* Sends what the engine has without blocking; false when the connection broke. Locked. */
    bool flush(int fd, int &err) {
        for (;;) {
            const uint8_t *d = nullptr;
            size_t len = 0;
            if (engine->transmit(d, len) != RTM_OK || len == 0) return true;
            ssize_t n = ::send(fd, d, len, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0) {
                err = errno;
                return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
            }
            engine->transmitDone(static_cast<size_t>(n));
        }
    }

    bool hasTx() {
        const uint8_t *d = nullptr;
        size_t len = 0;
        return engine->transmit(d, len) == RTM_OK && len > 0;
    }

    void drainWake() {
        char b[64];
        while (::read(wake_[0], b, sizeof b) > 0) {
        }
    }

    /* Waits up to ms for the wake pipe (and fd's events, when fd >= 0). Unlocked. */
    int waitFor(int fd, short events, int ms, short &revents) {
        struct pollfd p[2];
        p[0].fd = wake_[0];
        p[0].events = POLLIN;
        p[0].revents = 0;
        p[1].fd = fd;
        p[1].events = events;
        p[1].revents = 0;
        int n = ::poll(p, fd >= 0 ? 2 : 1, ms);
        if (n > 0 && (p[0].revents & POLLIN)) drainWake();
        revents = fd >= 0 ? p[1].revents : 0;
        return n;
    }

    /* Opens a connection to endpoint_ (interruptible through the wake pipe); -1 and `why`. */
    int dial(rtm_close_reason &why) {
        std::string host = endpoint_, port;
        size_t colon = endpoint_.rfind(':');
        if (colon == std::string::npos || colon + 1 == endpoint_.size()) {
            why = ioError(RTM_IO_INVALID_ENDPOINT);
            return -1;
        }
        host = endpoint_.substr(0, colon);
        port = endpoint_.substr(colon + 1);
        if (host.size() >= 2 && host[0] == '[' && host[host.size() - 1] == ']') host = host.substr(1, host.size() - 2);
        struct addrinfo hints;
        std::memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        struct addrinfo *res = nullptr;
        int gai = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
        if (gai != 0 || !res) {
            why = ioError(RTM_IO_UNKNOWN_HOST, gai);
            return -1;
        }
        int fd = -1, err = ECONNREFUSED;
        const int connectMs = static_cast<int>(defaultWaitMs() < 10000 ? defaultWaitMs() : 10000);
        for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
            fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
            if (fd < 0) {
                err = errno;
                continue;
            }
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
            if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
                err = errno;
                if (err == EINPROGRESS) {
                    short rev = 0;
                    uint64_t end = monoMs() + static_cast<uint64_t>(connectMs);
                    err = ETIMEDOUT;
                    for (;;) {
                        uint64_t now = monoMs();
                        if (now >= end || isStopping()) break;
                        if (waitFor(fd, POLLOUT, static_cast<int>(end - now), rev) > 0 && (rev & (POLLOUT | POLLERR | POLLHUP))) {
                            socklen_t len = sizeof err;
                            if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
                            break;
                        }
                    }
                }
                if (err != 0) {
                    ::close(fd);
                    fd = -1;
                }
            }
        }
        ::freeaddrinfo(res);
        if (fd < 0) {
            why = ioError(client_detail::ioKind(err), err);
            return -1;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return fd;
    }

    bool isStopping() {
        std::lock_guard<std::mutex> lk(mu);
        return stop;
    }

    void run(std::shared_ptr<Core> self) {
        (void)self; /* keeps the state alive as long as the thread runs */
        std::vector<uint8_t> buf(65536);
        size_t have = 0;
        int fd = -1;
        std::unique_lock<std::mutex> lk(mu);
        while (!stop) {
            uint64_t now = monoMs();
            uint64_t next = expire(now);
            pump();
            dispatch(lk);
            if (stop) break;
            if (fd < 0) {
                /* reconnect when wanted and advised (the engine's back-off) */
                bool wanted = connectWanted || autoReconnect || !queue.empty() || !pending.empty();
                uint64_t at = 0;
                bool later = engine->reconnectAt(at) && at > now;
                if (!wanted || later) {
                    uint64_t waitMs = 1000;
                    if (later && at - now < waitMs) waitMs = at - now;
                    if (next) waitMs = next <= now ? 0 : (next - now < waitMs ? next - now : waitMs);
                    lk.unlock();
                    short rev = 0;
                    waitFor(-1, 0, static_cast<int>(waitMs), rev);
                    lk.lock();
                    continue;
                }
                lk.unlock();
                rtm_close_reason why = hostClosed();
                int nfd = dial(why);
                lk.lock();
                now = monoMs();
                attempts++;
                if (stop) {
                    if (nfd >= 0) ::close(nfd);
                    break;
                }
                if (nfd < 0) {
                    engine->connectFailed(now, endpoint_, why);
                    connectWanted = autoReconnect ? connectWanted : false;
                } else {
                    fd = nfd;
                    have = 0;
                    engine->setUnixTime(now, unixMs());
                    if (encryption.on) {
                        /* fresh entropy for this connection's key pair */
                        uint8_t fresh[ENTROPY_BYTES];
                        osEntropy(fresh, sizeof fresh);
                        engine->addEntropy(fresh, sizeof fresh);
                        wipe(fresh, sizeof fresh);
                    }
                    connectWanted = false;
                    if (engine->connected(now, endpoint_) == RTM_CLOSE) {
                        rtm_close_reason r = hostClosed();
                        engine->closeReason(r);
                        ::close(fd);
                        fd = -1;
                        engine->closed(now, r);
                    }
                }
                cv.notify_all();
                continue;
            }
            /* connected: send, wait for bytes or a wake-up, feed, run timers */
            int err = 0;
            rtm_close_reason why = peerClosed();
            bool broken = !flush(fd, err);
            if (!broken) {
                uint64_t t = 0;
                int waitMs = 1000;
                if (engine->nextTimeout(t)) waitMs = t > now ? static_cast<int>(t - now < 1000 ? t - now : 1000) : 0;
                if (next && next - now < static_cast<uint64_t>(waitMs)) waitMs = next > now ? static_cast<int>(next - now) : 0;
                /* leftover bytes mean the engine waits for its transmit buffer to drain */
                short events = static_cast<short>((have == 0 ? POLLIN : 0) | (hasTx() ? POLLOUT : 0));
                lk.unlock();
                short rev = 0;
                ssize_t got = -2;
                if (waitFor(fd, events, waitMs, rev) > 0 && (rev & (POLLIN | POLLHUP | POLLERR))) {
                    got = ::recv(fd, buf.data() + have, buf.size() - have, 0);
                    if (got < 0) err = errno;
                }
                lk.lock();
                now = monoMs();
                if (got == 0 || (got == -1 && err != EAGAIN && err != EWOULDBLOCK && err != EINTR)) {
                    broken = true;
                    if (got < 0) why = ioError(client_detail::ioKind(err), err);
                } else if (got > 0) {
                    have += static_cast<size_t>(got);
                }
            } else {
                why = ioError(client_detail::ioKind(err), err);
            }
            Status st = RTM_OK;
            while (!broken && st == RTM_OK && have > 0) {
                size_t c = 0;
                st = engine->receive(now, buf.data(), have, c);
                std::memmove(buf.data(), buf.data() + c, have - c);
                have -= c;
                if (st != RTM_OK || have == 0) break;
                /* the engine is full: send its answers, then feed the rest */
                if (!flush(fd, err)) {
                    broken = true;
                    why = ioError(client_detail::ioKind(err), err);
                }
                if (c == 0) break; /* the socket takes nothing now: wait for POLLOUT */
            }
            if (!broken && st == RTM_OK) st = engine->handleTimeout(now);
            if (!broken && st == RTM_OK && !flush(fd, err)) {
                broken = true;
                why = ioError(client_detail::ioKind(err), err);
            }
            if (st == RTM_CLOSE) {
                broken = true;
                engine->closeReason(why);
            }
            if (broken) {
                ::close(fd);
                fd = -1;
                have = 0;
                engine->closed(now, why);
                cv.notify_all();
            }
        }
        /* stopping: close the connection, complete what is outstanding (also what callbacks
         * run meanwhile submit), then mark the thread ended with the lock held */
        if (fd >= 0) {
            ::close(fd);
            engine->closed(monoMs(), hostClosed());
        }
        for (;;) {
            for (std::map<uint32_t, Command>::iterator it = pending.begin(); it != pending.end(); ++it)
                complete(it->second, FPNN_EC_CORE_CONNECTION_CLOSED);
            pending.clear();
            for (size_t i = 0; i < queue.size(); i++) complete(queue[i], FPNN_EC_CORE_CONNECTION_CLOSED);
            queue.clear();
            up = false;
            if (ready.empty()) break;
            dispatch(lk);
        }
        running = false;
        cv.notify_all();
    }
};

} // namespace client_detail

class RTMServerClient {
public:
    /* The official "regressive connect strategy" (public here). Maps to rtm_backoff; unlike
     * the official C++ SDK, maxIntervalSeconds is a real cap. */
    struct RegressiveStrategy {
        int32_t connectFailedMaxIntervalMilliseconds = 1500;
        int32_t startConnectFailedCount = 5;
        int32_t firstIntervalSeconds = 2;
        int32_t maxIntervalSeconds = 120;
        int32_t linearRegressiveCount = 5;
    };

    RTMServerClient(int32_t pid, const std::string &secret, const std::string &endpoint)
        : core_(std::make_shared<client_detail::Core>(pid, secret, endpoint)) {}

    /* Closes the connection and ends the thread (from a callback: the thread ends after it). */
    ~RTMServerClient() { close(); }

    RTMServerClient(const RTMServerClient &) = delete;
    RTMServerClient &operator=(const RTMServerClient &) = delete;

    /* Starts the client's thread and waits for the first connection attempt to end (at most
     * the quest timeout): true when connected. Later drops reconnect by themselves (with
     * setAutoReconnect(true), the default). Listen calls made before connect() start it too. */
    bool connect() {
        std::unique_lock<std::mutex> lk(core_->mu);
        if (core_->up) return true;
        core_->connectWanted = true;
        if (!core_->startLocked(core_)) return false;
        core_->wake();
        if (core_->onThread()) return core_->up;
        uint64_t before = core_->attempts;
        core_->cv.wait_for(lk, std::chrono::milliseconds(core_->defaultWaitMs()),
                           [&] { return core_->up || core_->attempts > before || !core_->running; });
        return core_->up;
    }

    bool connected() {
        std::lock_guard<std::mutex> lk(core_->mu);
        return core_->up;
    }

    const std::string &endpoint() { return core_->endpoint_; }

    /* Closes the connection and stops the thread; outstanding commands complete with 20002
     * (the intent of those the listener accepted is kept: connect() again restores it). */
    void close() {
        std::thread t;
        {
            std::lock_guard<std::mutex> lk(core_->mu);
            if (!core_->running && !core_->thread.joinable()) return;
            core_->stop = true;
            core_->wake();
            if (core_->onThread()) return; /* the thread ends after the callback returns */
            t.swap(core_->thread);
        }
        if (t.joinable()) t.join();
    }

    /* The quest timeout in seconds (0: 30 s): the default `timeout` of the listen calls and,
     * when set before the first connect() or listen call, the engine's own quest timeout. */
    void setQuestTimeout(int seconds) {
        std::lock_guard<std::mutex> lk(core_->mu);
        core_->questTimeoutSec = seconds > 0 ? seconds : 0;
    }

    /* false: after a connection ends, reconnect only on connect() or a listen call. */
    void setAutoReconnect(bool autoReconnect) {
        std::lock_guard<std::mutex> lk(core_->mu);
        core_->autoReconnect = autoReconnect;
        core_->wake();
    }

    void setServerPushMonitor(std::shared_ptr<RTMServerPushMonitor> serverMonitor) {
        std::lock_guard<std::mutex> lk(core_->mu);
        core_->monitor = std::move(serverMonitor);
    }

    /* Takes effect when set before the first connect() or listen call (like the rest of the
     * configuration, which the official SDK also expects before use). */
    void setRegressiveConnectStrategy(RegressiveStrategy strategy) {
        std::lock_guard<std::mutex> lk(core_->mu);
        rtm_backoff &b = core_->backoff_;
        b.failed_window_ms = static_cast<uint32_t>(nonNegative(strategy.connectFailedMaxIntervalMilliseconds));
        b.immediate = static_cast<uint32_t>(nonNegative(strategy.startConnectFailedCount));
        b.first_ms = static_cast<uint32_t>(nonNegative(strategy.firstIntervalSeconds)) * 1000u;
        b.max_ms = static_cast<uint32_t>(nonNegative(strategy.maxIntervalSeconds)) * 1000u;
        b.linear_steps = static_cast<uint32_t>(nonNegative(strategy.linearRegressiveCount));
    }

    /* ---- listen commands (official signatures) ---- */

    int32_t addListen(const std::set<int64_t> &groupIds, const std::set<int64_t> &roomIds,
                      const std::set<int64_t> &userIds, const std::set<std::string> &events, int32_t timeout = 0) {
        return sync(make(client_detail::Command::Add, groupIds, roomIds, userIds, events), timeout);
    }
    void addListen(const std::set<int64_t> &groupIds, const std::set<int64_t> &roomIds,
                   const std::set<int64_t> &userIds, const std::set<std::string> &events,
                   std::function<void(int32_t errorCode)> callback, int32_t timeout = 0) {
        async(make(client_detail::Command::Add, groupIds, roomIds, userIds, events), std::move(callback), timeout);
    }
    int32_t removeListen(const std::set<int64_t> &groupIds, const std::set<int64_t> &roomIds,
                         const std::set<int64_t> &userIds, const std::set<std::string> &events, int32_t timeout = 0) {
        return sync(make(client_detail::Command::Remove, groupIds, roomIds, userIds, events), timeout);
    }
    void removeListen(const std::set<int64_t> &groupIds, const std::set<int64_t> &roomIds,
                      const std::set<int64_t> &userIds, const std::set<std::string> &events,
                      std::function<void(int32_t errorCode)> callback, int32_t timeout = 0) {
        async(make(client_detail::Command::Remove, groupIds, roomIds, userIds, events), std::move(callback), timeout);
    }
    int32_t setListen(const std::set<int64_t> &groupIds, const std::set<int64_t> &roomIds,
                      const std::set<int64_t> &userIds, const std::set<std::string> &events, int32_t timeout = 0) {
        return sync(make(client_detail::Command::Set, groupIds, roomIds, userIds, events), timeout);
    }
    void setListen(const std::set<int64_t> &groupIds, const std::set<int64_t> &roomIds,
                   const std::set<int64_t> &userIds, const std::set<std::string> &events,
                   std::function<void(int32_t errorCode)> callback, int32_t timeout = 0) {
        async(make(client_detail::Command::Set, groupIds, roomIds, userIds, events), std::move(callback), timeout);
    }

    /* The flags forms take exactly bool arguments: a braced id list ({1}, {"login"}) or an
     * integer cannot select them (with the official SDK, `setListen({1}, {0}, {1}, {"login"})`
     * would set the flags), and nothing else converts into a flag. */
    template <typename G, typename R, typename P, typename E,
              typename = typename std::enable_if<std::is_same<G, bool>::value && std::is_same<R, bool>::value &&
                                                 std::is_same<P, bool>::value && std::is_same<E, bool>::value>::type>
    int32_t setListen(G allGroup, R allRoom, P allP2P, E allEvent, int32_t timeout = 0) {
        return sync(flags(allGroup, allRoom, allP2P, allEvent), timeout);
    }
    template <typename G, typename R, typename P, typename E,
              typename = typename std::enable_if<std::is_same<G, bool>::value && std::is_same<R, bool>::value &&
                                                 std::is_same<P, bool>::value && std::is_same<E, bool>::value>::type>
    void setListen(G allGroup, R allRoom, P allP2P, E allEvent, std::function<void(int32_t errorCode)> callback,
                   int32_t timeout = 0) {
        async(flags(allGroup, allRoom, allP2P, allEvent), std::move(callback), timeout);
    }

    /* ---- not in the official SDK: what the listener holds ---- */

    /* The desired (RTM_LISTEN_DESIRED) or server-confirmed (RTM_LISTEN_CONFIRMED) listen
     * state; RTM_ERR_UNINIT before the first connect() or listen call. */
    Status listenState(rtm_listen_which which, rtm_listen_state &out) {
        std::lock_guard<std::mutex> lk(core_->mu);
        return core_->engine ? core_->engine->listenState(which, out) : RTM_ERR_UNINIT;
    }
    Status stats(rtm_stats &out) {
        std::lock_guard<std::mutex> lk(core_->mu);
        return core_->engine ? core_->engine->stats(out) : RTM_ERR_UNINIT;
    }

    /* ---- encryption (official signatures) ----
     * The server's public key for FPNN encryption (the gate's FPNN.server.security.ecdh):
     * packageMode true (the default) encrypts each frame on its own, false is stream mode;
     * reinforce true is AES-256 (default AES-128). Effective from the next connection (the
     * current one, if any, stays as it started). false, with nothing changed, when the key
     * is refused: not PEM / DER / raw X||Y on one of secp256k1, secp256r1, secp224r1,
     * secp192r1, a point off its curve, an unreadable file, or a library built without
     * encryption. */

    /* A PEM public key file (`openssl ec -pubout`). */
    bool enableEncryptorByPemFile(const char *pemFilePath, bool packageMode = true, bool reinforce = false) {
        std::string data;
        return readFile(pemFilePath, data) && enable(RTM_KEY_PEM, data, std::string(), packageMode, reinforce);
    }
    /* A DER public key file (`openssl ec -pubout -outform DER`). */
    bool enableEncryptorByDerFile(const char *derFilePath, bool packageMode = true, bool reinforce = false) {
        std::string data;
        return readFile(derFilePath, data) && enable(RTM_KEY_DER, data, std::string(), packageMode, reinforce);
    }
    /* PEM text. */
    bool enableEncryptorByPemData(const std::string &data, bool packageMode = true, bool reinforce = false) {
        return enable(RTM_KEY_PEM, data, std::string(), packageMode, reinforce);
    }
    /* DER bytes. */
    bool enableEncryptorByDerData(const std::string &data, bool packageMode = true, bool reinforce = false) {
        return enable(RTM_KEY_DER, data, std::string(), packageMode, reinforce);
    }
    /* The raw public key X||Y (FPNN's eccKeyMaker NAME-public.key; 0x04||X||Y too) on `curve`
     * (secp256k1, secp256r1, secp224r1, secp192r1). */
    bool enableEncryptor(const std::string &curve, const std::string &peerPublicKey, bool packageMode = true,
                         bool reinforce = false) {
        return enable(RTM_KEY_RAW, peerPublicKey, curve, packageMode, reinforce);
    }

    /* ---- official calls a listener cannot honour: they fail to compile, with the reason ---- */
#define RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(name)                                                                  \
    template <typename... A>                                                                                         \
    int32_t name(A &&...) {                                                                                          \
        static_assert(DependentFalse<A...>::value,                                                                   \
                      "rtm::RTMServerClient::" #name ": rtm-listen's client only listens (connect, close, the "     \
                      "settings, addListen/removeListen/setListen); keep the official SDK or another client for "   \
                      "this quest");                                                                                 \
        return 0;                                                                                                    \
    }
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendChat)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendAudio)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendCmd)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendMessage)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendMessages)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendChats)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendAudios)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendCmds)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendGroupMessage)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendGroupChat)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendGroupAudio)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendGroupCmd)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendRoomMessage)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendRoomChat)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendRoomAudio)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendRoomCmd)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(broadcastMessage)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(broadcastChat)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(broadcastAudio)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(broadcastCmd)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendFile)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendFiles)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendGroupFile)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(sendRoomFile)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(broadcastFile)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(addFriends)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(deleteFriends)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getFriends)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(isFriend)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(isFriends)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(addBlacks)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(deleteBlacks)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(isBlack)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(isBlacks)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getBlacks)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(addGroupMembers)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(deleteGroupMembers)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(deleteGroup)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getGroupMembers)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(isGroupMember)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getUserGroups)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getToken)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(removeToken)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getOnlineUsers)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(addGroupBan)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(removeGroupBan)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(addRoomBan)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(removeRoomBan)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(addProjectBlack)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(removeProjectBlack)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(isBanOfGroup)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(isBanOfRoom)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(isProjectBlack)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(fileToken)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getGroupMessage)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getGroupChat)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getRoomMessage)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getRoomChat)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getBroadcastMessage)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getBroadcastChat)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getP2PMessage)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getP2PChat)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(addRoomMember)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(deleteRoomMember)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(addDevice)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(removeDevice)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(deleteMessage)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(deleteChat)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(kickout)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(loadFile)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(translate)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(profanity)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(transcribe)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(transcribeMessage)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(setUserInfo)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getUserInfo)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getUserOpenInfo)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(setGroupInfo)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getGroupInfo)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(setRoomInfo)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getRoomInfo)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getMessage)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(getChat)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(dataSet)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(dataDelete)
    RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL(dataGet)
#undef RTM_LISTEN_CLIENT_NOT_A_LISTENER_CALL

private:
    typedef client_detail::Command Command;

    static int32_t nonNegative(int32_t v) { return v > 0 ? v : 0; }

    static bool readFile(const char *path, std::string &out) {
        if (!path) return false;
        std::ifstream f(path, std::ios::in | std::ios::binary);
        if (!f) return false;
        out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
        return !f.bad();
    }

    /* Checks the setting (with the engine's own call once it exists) and keeps it for the
     * engine's next connection. */
    bool enable(rtm_key_format format, const std::string &key, const std::string &curve, bool packageMode,
                bool reinforce) {
        client_detail::EncryptionSetting e;
        e.on = true;
        e.key = key;
        e.format = format;
        e.curve = curve;
        e.packageMode = packageMode;
        e.reinforce = reinforce;
        uint8_t entropy[client_detail::ENTROPY_BYTES];
        client_detail::osEntropy(entropy, sizeof entropy);
        rtm_encryption c = e.c(entropy, sizeof entropy);
        std::lock_guard<std::mutex> lk(core_->mu);
        Status st = core_->engine ? core_->engine->setEncryption(c) : rtm_encryption_check(&c);
        client_detail::wipe(entropy, sizeof entropy);
        if (st != RTM_OK) return false;
        core_->encryption = std::move(e);
        return true;
    }

    static Command make(Command::Op op, const std::set<int64_t> &g, const std::set<int64_t> &r,
                        const std::set<int64_t> &u, const std::set<std::string> &e) {
        Command c;
        c.op = op;
        c.gids = g;
        c.rids = r;
        c.uids = u;
        c.events = e;
        return c;
    }
    static Command flags(bool g, bool r, bool p, bool e) {
        Command c;
        c.op = Command::SetAll;
        c.flags[0] = g;
        c.flags[1] = r;
        c.flags[2] = p;
        c.flags[3] = e;
        return c;
    }

    uint64_t deadline(int32_t timeout) const {
        uint64_t ms = timeout > 0 ? static_cast<uint64_t>(timeout) * 1000u : core_->defaultWaitMs();
        return client_detail::monoMs() + ms;
    }

    /* Queues the command and hands it to the engine. Locked. */
    bool submit(Command &c, std::unique_lock<std::mutex> &) {
        if (!core_->startLocked(core_)) return false;
        core_->queue.push_back(std::move(c));
        core_->pump();
        core_->wake();
        return true;
    }

    int32_t sync(Command c, int32_t timeout) {
        std::shared_ptr<std::pair<bool, int32_t> > w = std::make_shared<std::pair<bool, int32_t> >(false, 0);
        std::unique_lock<std::mutex> lk(core_->mu);
        const bool inCallback = core_->onThread();
        c.deadline = deadline(timeout);
        if (!inCallback) c.waiter = w;
        if (!submit(c, lk)) return FPNN_EC_CORE_UNKNOWN_ERROR;
        if (inCallback) return FPNN_EC_CORE_TIMEOUT; /* cannot wait for the thread running us */
        /* the thread completes it by its deadline; the wait's own limit is a backstop */
        const uint64_t limit = c.deadline + 2000;
        while (!w->first) {
            uint64_t now = client_detail::monoMs();
            if (now >= limit) break;
            core_->cv.wait_for(lk, std::chrono::milliseconds(limit - now));
        }
        if (w->first) return w->second;
        for (std::map<uint32_t, Command>::iterator it = core_->pending.begin(); it != core_->pending.end(); ++it)
            if (it->second.waiter == w) {
                core_->pending.erase(it);
                break;
            }
        for (std::deque<Command>::iterator it = core_->queue.begin(); it != core_->queue.end(); ++it)
            if (it->waiter == w) {
                core_->queue.erase(it);
                break;
            }
        return FPNN_EC_CORE_TIMEOUT;
    }

    void async(Command c, std::function<void(int32_t)> callback, int32_t timeout) {
        std::unique_lock<std::mutex> lk(core_->mu);
        c.deadline = deadline(timeout);
        c.callback = std::move(callback);
        if (!c.callback) c.callback = [](int32_t) {};
        if (!submit(c, lk)) {
            std::function<void(int32_t)> cb = std::move(c.callback);
            lk.unlock();
            cb(FPNN_EC_CORE_UNKNOWN_ERROR);
        }
    }

    std::shared_ptr<client_detail::Core> core_;
};

typedef std::shared_ptr<RTMServerClient> RTMServerClientPtr;

} // namespace rtm

#endif /* RTM_SERVER_CLIENT_HPP */
