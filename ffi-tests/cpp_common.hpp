// Helpers shared by the C++17 tests (default and compatibility mode): string checks, feeding
// and draining an rtm::Listener, and the loop against the gate simulator written with the
// wrapper's calls. Include after rtm_listen.hpp.
#ifndef RTM_FFI_TESTS_CPP_COMMON_HPP
#define RTM_FFI_TESTS_CPP_COMMON_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "rtm_listen.hpp"

#include "check.h"
#include "sim.h"
#include "wire.h"

// Anything with data()/size() (string_view, string) equal to a NUL-terminated string.
#define CHECK_SV(s, want) \
    check_bytes((s).data(), (s).size(), (want), std::strlen(want), #s " == " #want, __FILE__, __LINE__)

// A fixed-size copy of a string (no allocation), for recording inside callbacks.
struct Buf {
    char b[320];
    size_t n = 0;
    void set(const char *p, size_t len) {
        n = len < sizeof b ? len : sizeof b;
        if (n) std::memcpy(b, p, n);
    }
    template <typename S>
    void set(const S &s) {
        set(s.data(), s.size());
    }
    const char *data() const { return b; }
    size_t size() const { return n; }
};

// Takes every pending transmit byte, appending to out (up to cap). Returns bytes taken.
inline size_t drainTx(rtm::Listener &l, uint8_t *out, size_t cap, size_t &len) {
    size_t total = 0;
    for (;;) {
        const uint8_t *d = nullptr;
        size_t n = 0;
        if (l.transmit(d, n) != RTM_OK || n == 0) break;
        if (out) {
            size_t take = n < cap - len ? n : cap - len;
            std::memcpy(out + len, d, take);
            len += take;
        }
        if (l.transmitDone(n) != RTM_OK) break;
        total += n;
    }
    return total;
}

// Feeds all of p[0..n], draining transmit bytes into tx whenever the listener is full.
inline rtm::Status feedAll(rtm::Listener &l, uint64_t now, const uint8_t *p, size_t n, uint8_t *tx, size_t cap,
                           size_t &txlen) {
    size_t off = 0;
    while (off < n) {
        size_t c = 0;
        rtm::Status st = l.receive(now, p + off, n - off, c);
        if (st != RTM_OK) return st;
        off += c;
        if (off < n && drainTx(l, tx, cap, txlen) == 0 && c == 0) return -1;
    }
    drainTx(l, tx, cap, txlen);
    return RTM_OK;
}

// Answers in tx: count, and how many have a non-zero status.
inline size_t countAnswers(const uint8_t *tx, size_t len, size_t *errors = nullptr) {
    size_t n = 0, off = 0;
    fpnn_frame f;
    if (errors) *errors = 0;
    while (off < len && fpnn_parse(tx + off, len - off, &f)) {
        if (f.mtype == 2) {
            n++;
            if (errors && f.ss != 0) (*errors)++;
        }
        off += f.total;
    }
    return n;
}

// The seq of the first twoway quest with `method` in tx, or 0.
inline uint32_t questSeq(const uint8_t *tx, size_t len, const char *method) {
    size_t off = 0;
    fpnn_frame f;
    while (off < len && fpnn_parse(tx + off, len - off, &f)) {
        if (f.mtype == 1 && fpnn_is(&f, method)) return f.seq;
        off += f.total;
    }
    return 0;
}

// Answers every listen quest the listener sends with an empty OK map, one at a time (the
// listener keeps one in flight), until it sends none. Returns how many were answered.
inline size_t answerQuests(rtm::Listener &l, uint64_t now) {
    size_t answered = 0;
    for (int round = 0; round < 16; round++) {
        static uint8_t out[4096];
        size_t len = 0, off = 0, before = answered;
        drainTx(l, out, sizeof out, len);
        fpnn_frame f;
        while (off < len && fpnn_parse(out + off, len - off, &f)) {
            if (f.mtype == 1) {
                uint8_t a[32];
                size_t alen = answer_ok(a, sizeof a, f.seq), used = 0;
                l.receive(now, a, alen, used);
                answered++;
            }
            off += f.total;
        }
        if (answered == before) break;
    }
    return answered;
}

// Sends what the listener has without blocking; false on a broken connection.
inline bool flushTx(rtm::Listener &l, int fd) {
    for (;;) {
        const uint8_t *d = nullptr;
        size_t len = 0;
        if (l.transmit(d, len) != RTM_OK || len == 0) return true;
        ssize_t sent = send(fd, d, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
        l.transmitDone(static_cast<size_t>(sent));
    }
}

// Drives `l` against the simulator until it exits or limitMs passes, with the wrapper's calls.
// Returns the number of connections made, or -1 on timeout.
inline int runSession(rtm::Listener &l, sim_proc &sim, uint64_t limitMs) {
    static uint8_t buf[8192];
    size_t have = 0;
    int fd = -1, connections = 0;
    const uint64_t end = mono_ms() + limitMs;
    auto drop = [&](const rtm_close_reason &reason) {
        close(fd);
        fd = -1;
        have = 0;
        l.closed(mono_ms(), reason);
    };
    while (!sim_exited(&sim)) {
        uint64_t now = mono_ms();
        if (now > end) break;
        if (fd < 0) {
            std::optional<uint64_t> at = l.reconnectAt();
            if (at && *at > now) {
                sleep_ms(*at - now < 50 ? *at - now : 50);
                continue;
            }
            fd = tcp_connect(sim.port);
            if (fd < 0) {
                l.connectFailed(now, "127.0.0.1", rtm::ioError(RTM_IO_CONNECTION_REFUSED, errno));
                sleep_ms(10);
                continue;
            }
            connections++;
            l.setUnixTime(now, unix_ms());
            if (l.connected(now, "127.0.0.1") == RTM_CLOSE) {
                drop(l.closeReason().value_or(rtm::hostClosed()));
                continue;
            }
        }
        if (!flushTx(l, fd)) {
            drop(rtm::ioError(RTM_IO_BROKEN_PIPE, errno));
            continue;
        }
        uint64_t wait = 50;
        if (std::optional<uint64_t> at = l.nextTimeout()) wait = *at > now ? (*at - now < 50 ? *at - now : 50) : 0;
        pollfd p{};
        p.fd = fd;
        p.events = static_cast<short>((have < sizeof buf ? POLLIN : 0) | (l.transmit().empty() ? 0 : POLLOUT));
        if (poll(&p, 1, static_cast<int>(wait)) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t got = recv(fd, buf + have, sizeof buf - have, 0);
            if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
                drop(got == 0 ? rtm::peerClosed() : rtm::ioError(RTM_IO_CONNECTION_RESET, errno));
                continue;
            }
            if (got > 0) have += static_cast<size_t>(got);
        }
        now = mono_ms();
        rtm::Status st = RTM_OK;
        while (st == RTM_OK && have > 0) {
            size_t c = 0;
            st = l.receive(now, buf, have, c);
            std::memmove(buf, buf + c, have - c);
            have -= c;
            if (c == 0) break;
        }
        if (st == RTM_OK) st = l.handleTimeout(now);
        if (st == RTM_OK && !flushTx(l, fd)) st = RTM_CLOSE;
        if (st == RTM_CLOSE) drop(l.closeReason().value_or(rtm::ioError(RTM_IO_BROKEN_PIPE)));
    }
    if (fd >= 0) drop(rtm::hostClosed());
    return sim_exited(&sim) ? connections : -1;
}

#endif
