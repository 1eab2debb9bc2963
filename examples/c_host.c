/* c_host: listen to an RTM gateway (or the local gate simulator) from C with librtm_listen.a.
 *
 *   c_host [--server-key FILE [--curve C] [--stream] [--aes256]]
 *          HOST PORT PID SECRET [UIDS [GIDS [RIDS [EVENTS [SECONDS]]]]]
 *
 * --server-key turns on FPNN encryption (the gate's FPNN.server.security.ecdh): the server's
 * public key as PEM, DER, or raw X||Y (then --curve names its curve: secp256k1, secp256r1,
 * secp224r1, secp192r1); package mode and AES-128 unless --stream / --aes256, as the official
 * SDK's enableEncryptorBy*File(path, packageMode = true, reinforce = false).
 * UIDS/GIDS/RIDS are comma-separated ids and EVENTS comma-separated names (login, logout); "-"
 * means none. Prints one line per callback; reconnects when the listener advises; runs for
 * SECONDS (default: forever). Build (see README.md, "Using from C and C++") and run it against
 * the local gate simulator, which prints "PORT <n>" on stdout once listening (from the
 * repository's root, in a POSIX shell):
 *
 *   cargo build --profile ffi -p rtm-listen-ffi      # -> target/ffi/librtm_listen.a
 *   cc -std=c99 -Iinclude examples/c_host.c target/ffi/librtm_listen.a -o c_host
 *   cargo build -p rtm-gate-sim                      # -> target/debug/gate-sim
 *   rm -f gate.out; target/debug/gate-sim --script demo > gate.out &
 *   until grep -q '^PORT ' gate.out 2>/dev/null; do sleep 0.1; done
 *   ./c_host 127.0.0.1 "$(sed -n 's/^PORT //p' gate.out)" 1000001 sim-secret 1001 2001 3001 login 10
 *
 * 1000001 and sim-secret are the simulator's default pid and secret (gate-sim --help);
 * `--script demo` pushes every kind of message, drops the connection once and exits when done,
 * `--script idle` only serves, until killed.
 *
 * The socket is blocking for brevity: a real host would send without blocking. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtm_listen.h"

static rtm_listener listener; /* all the listener's memory: no allocation anywhere */

static uint64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static int64_t unix_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

#define S(s) (int)(s).len, (const char *)(s).ptr

static void on_connected(void *u, rtm_str ep, bool ok, bool re) {
    printf("connected endpoint=%.*s connected=%d isReconnect=%d\n", S(ep), ok, re);
    (void)u;
}
static void on_closed(void *u, rtm_str ep, bool err, bool re) {
    printf("closed endpoint=%.*s causedByError=%d isReconnect=%d\n", S(ep), err, re);
    (void)u;
}
static void put(const char *key, rtm_str s) { /* text as is; binary (control bytes) as its length */
    size_t i = 0;
    while (i < s.len && s.ptr[i] >= 0x20) i++;
    if (i < s.len) printf(" %s=<%lu bytes>", key, (unsigned long)s.len);
    else printf(" %s=%.*s", key, S(s));
}
static void on_message(const char *kind, const rtm_message *m) {
    printf("%s from=%lld to=%lld mid=%lld mtype=%d", kind, (long long)m->from_uid, (long long)m->to_id,
           (long long)m->message_id, m->message_type);
    put("msg", m->message);
    put("attrs", m->attrs);
    if (m->file_info) printf(" url=%.*s size=%lld", S(m->file_info->url), (long long)m->file_info->size);
    if (m->translated_info) printf(" targetText=%.*s", S(m->translated_info->target_text));
    printf("\n");
}
#define ON(name, kind) \
    static void name(void *u, const rtm_message *m) { (void)u; on_message(kind, m); }
ON(p2p_message, "pushP2PMessage") ON(group_message, "pushGroupMessage") ON(room_message, "pushRoomMessage")
ON(p2p_file, "pushP2PFile") ON(group_file, "pushGroupFile") ON(room_file, "pushRoomFile")
ON(p2p_chat, "pushP2PChat") ON(p2p_audio, "pushP2PAudio") ON(p2p_cmd, "pushP2PCmd")
ON(group_chat, "pushGroupChat") ON(group_audio, "pushGroupAudio") ON(group_cmd, "pushGroupCmd")
ON(room_chat, "pushRoomChat") ON(room_audio, "pushRoomAudio") ON(room_cmd, "pushRoomCmd")
ON(broadcast, "pushBroadcast")
static void on_event(void *u, int64_t pid, rtm_str ev, int64_t uid, int64_t time, rtm_str ep, rtm_str data) {
    printf("pushEvent pid=%lld event=%.*s uid=%lld time=%lld endpoint=%.*s data=%.*s\n", (long long)pid, S(ev),
           (long long)uid, (long long)time, S(ep), S(data));
    (void)u;
}
static void on_ping(void *u) { printf("ping\n"); (void)u; }
static void on_completed(void *u, uint32_t id, int64_t code, rtm_str ex) {
    printf("completed request=%u code=%lld ex=%.*s\n", (unsigned)id, (long long)code, S(ex));
    (void)u;
}
static void on_restored(void *u, int64_t code) { printf("restored code=%lld\n", (long long)code); (void)u; }
static void on_disconnected(void *u, rtm_str ep, const rtm_close_reason *why, uint64_t retry_in_ms) {
    printf("disconnected endpoint=%.*s reason=%s errno=%d retryInMs=%llu\n", S(ep), rtm_close_reason_str(why),
           (int)why->os_error, (unsigned long long)retry_in_ms);
    (void)u;
}
static void on_bad_push(void *u, rtm_str method, int64_t code, bool twoway, uint32_t seq, size_t frame_len) {
    printf("badPush method=%.*s code=%lld twoway=%d seq=%u len=%lu\n", S(method), (long long)code, twoway,
           (unsigned)seq, (unsigned long)frame_len);
    (void)u;
}

static rtm_close_reason io_reason(int err) { /* errno -> an RTM_REASON_IO reason */
    rtm_io_kind kind = RTM_IO_OTHER;
    switch (err) {
    case ECONNREFUSED: kind = RTM_IO_CONNECTION_REFUSED; break;
    case ECONNRESET: kind = RTM_IO_CONNECTION_RESET; break;
    case ECONNABORTED: kind = RTM_IO_CONNECTION_ABORTED; break;
    case ETIMEDOUT: kind = RTM_IO_TIMED_OUT; break;
    case EHOSTUNREACH: case ENETUNREACH: kind = RTM_IO_UNREACHABLE; break;
    case EPIPE: kind = RTM_IO_BROKEN_PIPE; break;
    }
    return rtm_close_reason_io(kind, err);
}

static size_t ids(char *arg, int64_t *out, size_t max) { /* "1,2,3" or "-" */
    size_t n = 0;
    char *t;
    for (t = strtok(arg, ","); t && n < max && strcmp(t, "-") != 0; t = strtok(NULL, ",")) out[n++] = atoll(t);
    return n;
}

static int dial(const char *host, const char *port, rtm_close_reason *why) { /* why: on failure */
    struct addrinfo hints, *ai, *p;
    int fd = -1, err = 0;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0) return *why = rtm_close_reason_io(RTM_IO_UNKNOWN_HOST, 0), -1;
    for (p = ai; p && fd < 0; p = p->ai_next) {
        fd = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
        if (fd < 0) err = errno;
        else if (connect(fd, p->ai_addr, p->ai_addrlen) != 0) err = errno, close(fd), fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) *why = io_reason(err);
    return fd;
}

/* n bytes from the system's generator; 0 on success. */
static int os_entropy(uint8_t *out, size_t n) {
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(out, 1, n, f) : 0;
    if (f) fclose(f);
    return got == n ? 0 : -1;
}

static int flush(int fd, rtm_close_reason *why) { /* send everything the listener has */
    const uint8_t *d;
    size_t n;
    while (rtm_listener_transmit(&listener, &d, &n) == RTM_OK && n > 0) {
        ssize_t sent = send(fd, d, n, MSG_NOSIGNAL);
        if (sent <= 0) return *why = io_reason(sent < 0 ? errno : EPIPE), -1;
        rtm_listener_transmit_done(&listener, (size_t)sent);
    }
    return 0;
}

int main(int argc, char **argv) {
    static int64_t uids[64], gids[64], rids[64];
    static uint8_t key[4096], entropy[64];
    rtm_str events[2], endpoint;
    rtm_ids list;
    rtm_config cfg;
    uint8_t buf[4096];
    uint32_t request;
    int fd = -1, st;
    uint64_t end;
    char *e;
    const char *prog = argv[0];
    memset(&cfg, 0, sizeof cfg);
    while (argc > 1 && strncmp(argv[1], "--", 2) == 0) { /* the encryption options */
        int used = 1;
        if (strcmp(argv[1], "--server-key") == 0 && argc > 2) {
            FILE *f = fopen(argv[2], "rb");
            size_t n = f ? fread(key, 1, sizeof key, f) : 0;
            if (f) fclose(f);
            if (n == 0) return fprintf(stderr, "cannot read %s\n", argv[2]), 2;
            cfg.encryption.server_key = key, cfg.encryption.server_key_len = n, used = 2;
        } else if (strcmp(argv[1], "--curve") == 0 && argc > 2) {
            cfg.encryption.curve = argv[2], used = 2;
        } else if (strcmp(argv[1], "--stream") == 0) {
            cfg.encryption.stream_mode = true;
        } else if (strcmp(argv[1], "--aes256") == 0) {
            cfg.encryption.aes256 = true;
        } else {
            argc = 0; /* usage */
            break;
        }
        argc -= used, argv += used;
    }
    if (argc < 5) {
        fprintf(stderr, "usage: %s [--server-key FILE [--curve C] [--stream] [--aes256]]\n"
                        "       HOST PORT PID SECRET [UIDS [GIDS [RIDS [EVENTS [SECONDS]]]]]\n", prog);
        return 2;
    }
    end = argc > 9 ? now_ms() + 1000u * (uint64_t)atoll(argv[9]) : UINT64_MAX;
    if (cfg.encryption.server_key) { /* entropy for the per-connection keys (copied, not kept) */
        if (os_entropy(entropy, sizeof entropy) != 0) return fprintf(stderr, "no entropy\n"), 2;
        cfg.encryption.entropy = entropy, cfg.encryption.entropy_len = sizeof entropy;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    endpoint.ptr = (const uint8_t *)argv[1], endpoint.len = strlen(argv[1]);
    cfg.pid = (uint32_t)atol(argv[3]);
    cfg.secret.ptr = (const uint8_t *)argv[4], cfg.secret.len = strlen(argv[4]);
    cfg.entropy = (uint64_t)unix_ms() ^ ((uint64_t)getpid() << 32);
    cfg.monitor.connected = on_connected, cfg.monitor.closed = on_closed;
    cfg.monitor.push_p2p_message = p2p_message, cfg.monitor.push_group_message = group_message;
    cfg.monitor.push_room_message = room_message, cfg.monitor.push_p2p_file = p2p_file;
    cfg.monitor.push_group_file = group_file, cfg.monitor.push_room_file = room_file;
    cfg.monitor.push_p2p_chat = p2p_chat, cfg.monitor.push_p2p_audio = p2p_audio, cfg.monitor.push_p2p_cmd = p2p_cmd;
    cfg.monitor.push_group_chat = group_chat, cfg.monitor.push_group_audio = group_audio;
    cfg.monitor.push_group_cmd = group_cmd, cfg.monitor.push_room_chat = room_chat;
    cfg.monitor.push_room_audio = room_audio, cfg.monitor.push_room_cmd = room_cmd;
    cfg.monitor.push_broadcast = broadcast, cfg.monitor.push_event = on_event, cfg.monitor.ping = on_ping;
    cfg.monitor.completed = on_completed, cfg.monitor.restored = on_restored;
    cfg.monitor.disconnected = on_disconnected, cfg.monitor.bad_push = on_bad_push;
    if ((st = rtm_listener_init(&listener, sizeof listener, &cfg)) != RTM_OK)
        return fprintf(stderr, "bad config: %s\n", rtm_status_str(st)), 2; /* e.g. a refused server key */
    memset(entropy, 0, sizeof entropy);

    memset(&list, 0, sizeof list);
    list.uids = uids, list.uids_len = argc > 5 ? ids(argv[5], uids, 64) : 0;
    list.gids = gids, list.gids_len = argc > 6 ? ids(argv[6], gids, 64) : 0;
    list.rids = rids, list.rids_len = argc > 7 ? ids(argv[7], rids, 64) : 0;
    list.events = events;
    for (e = argc > 8 ? strtok(argv[8], ",") : NULL; e && list.events_len < 2 && strcmp(e, "-") != 0;
         e = strtok(NULL, ","))
        events[list.events_len].ptr = (const uint8_t *)e, events[list.events_len++].len = strlen(e);
    if (list.uids_len + list.gids_len + list.rids_len + list.events_len > 0) /* sent once connected */
        if (rtm_listen_add(&listener, now_ms(), &list, &request) != RTM_OK) return fprintf(stderr, "bad ids\n"), 2;

    while (now_ms() < end) {
        uint64_t now = now_ms(), at, wait = 1000;
        int status = RTM_OK;
        rtm_close_reason why = rtm_close_reason_of(RTM_REASON_HOST);
        struct pollfd p;
        uint8_t fresh[32];
        if (fd < 0) { /* (re)connect when the listener advises */
            if (rtm_listener_reconnect_at(&listener, &at) == RTM_OK && at > now) {
                poll(NULL, 0, (int)(at - now < 1000 ? at - now : 1000));
                continue;
            }
            rtm_listener_set_unix_time(&listener, now, unix_ms());
            if (cfg.encryption.server_key && os_entropy(fresh, sizeof fresh) == 0) /* for this key pair */
                rtm_listener_add_entropy(&listener, fresh, sizeof fresh), memset(fresh, 0, sizeof fresh);
            if ((fd = dial(argv[1], argv[2], &why)) < 0) { /* the listener advises when to retry */
                rtm_listener_connect_failed(&listener, now, endpoint, &why);
                continue;
            }
            status = rtm_listener_connected(&listener, now, endpoint);
        }
        if (status == RTM_OK && flush(fd, &why) < 0) status = RTM_CLOSE;
        /* sleep until the next timer (at most 1 s); one already due: no sleep. Unsigned, and
         * compared before subtracting: never negative. */
        if (rtm_listener_next_timeout(&listener, &at) == RTM_OK) wait = at > now ? at - now : 0;
        p.fd = fd, p.events = POLLIN, p.revents = 0;
        if (status == RTM_OK && poll(&p, 1, (int)(wait < 1000 ? wait : 1000)) > 0) {
            ssize_t n = recv(fd, buf, sizeof buf, 0), off = 0;
            size_t used = 0;
            if (n <= 0) /* the peer closed, or an error */
                status = RTM_CLOSE, why = n == 0 ? rtm_close_reason_of(RTM_REASON_PEER_CLOSED) : io_reason(errno);
            while (status == RTM_OK && off < n) { /* a full listener takes less: send, then feed the rest */
                status = rtm_listener_receive(&listener, now_ms(), buf + off, (size_t)(n - off), &used);
                off += (ssize_t)used;
                if (status == RTM_OK && flush(fd, &why) < 0) status = RTM_CLOSE;
            }
        }
        if (status == RTM_OK) status = rtm_listener_handle_timeout(&listener, now_ms());
        if (status == RTM_CLOSE) {
            rtm_listener_close_reason(&listener, &why); /* when the listener asked: its reason */
            close(fd), fd = -1;
            rtm_listener_closed(&listener, now_ms(), &why);
        }
    }
    if (fd >= 0) {
        rtm_close_reason why = rtm_close_reason_of(RTM_REASON_HOST);
        close(fd);
        rtm_listener_closed(&listener, now_ms(), &why);
    }
    return 0;
}
