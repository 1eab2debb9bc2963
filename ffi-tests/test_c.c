/* C99 tests of the rtm-listen C ABI: include only the public header (plus test helpers), link
 * librtm_listen.a.
 *
 *   test_c <path to gate-sim>
 *
 * Covers: layout (size/alignment), rtm_status_str, NULL for every pointer argument, short and
 * misaligned storage, uninitialised and deinitialised handles, re-entry from callbacks, every
 * error status (except RTM_ERR_TOO_LARGE, see test_too_large.c), replay of the recorded Python
 * SDK frames (callbacks, fields, answers byte for byte except the version byte), every push
 * kind built here (translated chat, file info, broadcast, kickout, oneway, unknown method,
 * duplicates), listen commands and their completions (ok, error, timeout, closed, not
 * connected), restoration after a reconnect, timers and the dead-link close, backpressure,
 * a full session over loopback TCP against `gate-sim --script demo`, and zero heap use by
 * the library (malloc & co wrapped with -Wl,--wrap and counted). FPNN encryption: every form
 * of the server key and every refusal with its own status (nothing changed by a refusal), the
 * *key quest first on each connection, the key exchange's close reasons, and the demo
 * encrypted on all four curves, both modes and both AES key sizes (gate-sim --force-encrypt).
 *
 * Built with -DRTM_TEST_BAREMETAL (scripts/ffi-baremetal.sh), the same tests but the loopback
 * session run on a Cortex-M4 in qemu-system-arm, against librtm_listen.a built for
 * thumbv7em-none-eabihf, with newlib over semihosting; main then takes no argument. */
#ifndef RTM_TEST_BAREMETAL
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtm_listen.h"

#include "alloc_count.h"
#include "check.h"
#include "recorder.h"
#ifndef RTM_TEST_BAREMETAL
#include "sim.h"
#endif
/* test_init_stack: x86-64 Linux, plain builds (not under ASan, whose interceptors add frames). */
#if !defined(RTM_TEST_BAREMETAL) && defined(__x86_64__) && defined(__linux__) && !defined(__SANITIZE_ADDRESS__)
#define RTM_TEST_INIT_STACK 1
#include <pthread.h>
#endif
#include "enc_keys.h"
#include "vectors.h"
#include "wire.h"

/* Compile-time layout checks (C99 has no _Static_assert: a negative array size fails). */
typedef char assert_storage_size[(sizeof(rtm_listener) >= RTM_LISTENER_STORAGE) ? 1 : -1];
struct align_probe {
    char c;
    rtm_listener l;
};
typedef char assert_storage_align[(offsetof(struct align_probe, l) % RTM_LISTENER_ALIGN == 0) ? 1 : -1];

/* ---------------------------------------------------------------- helpers */

static rtm_str S(const char *s) {
    rtm_str r;
    r.ptr = (const uint8_t *)s;
    r.len = strlen(s);
    return r;
}

/* rtm_config.lazy_info for the listeners config() sets up (test_json_sizes runs both). */
static bool g_lazy_info;

static rtm_config config(uint32_t pid, const char *secret, rtm_monitor m) {
    rtm_config c;
    memset(&c, 0, sizeof c);
    c.lazy_info = g_lazy_info;
    c.pid = pid;
    c.secret = S(secret);
    c.entropy = 0x1234567890abcdefULL;
    c.monitor = m;
    return c;
}

/* A listener with a recorder, connected at `now`. */
static rtm_status setup(rtm_listener *l, rec *r, uint32_t pid, uint64_t now) {
    rtm_config c;
    rtm_status st;
    memset(r, 0, sizeof *r);
    c = config(pid, "sim-secret", rec_monitor(r));
    st = rtm_listener_init(l, sizeof *l, &c);
    if (st != RTM_OK) return st;
    rtm_listener_set_unix_time(l, now, 1700000000000LL);
    return rtm_listener_connected(l, now, S("127.0.0.1:13321"));
}

/* Takes every pending transmit byte, appending to out[*len..cap] (extra bytes are dropped). */
static size_t drain(rtm_listener *l, uint8_t *out, size_t cap, size_t *len) {
    size_t total = 0;
    for (;;) {
        const uint8_t *d = NULL;
        size_t n = 0;
        if (rtm_listener_transmit(l, &d, &n) != RTM_OK || n == 0) break;
        if (out && len) {
            size_t room = cap - *len, take = n < room ? n : room;
            memcpy(out + *len, d, take);
            *len += take;
        }
        if (rtm_listener_transmit_done(l, n) != RTM_OK) break;
        total += n;
    }
    return total;
}

/* Feeds all of p[0..n]; when the listener is full, drains its transmit bytes into tx and
 * continues. Returns the first non-OK status, RTM_OK, or -1 when no progress is possible. */
static rtm_status feed(rtm_listener *l, uint64_t now, const uint8_t *p, size_t n, uint8_t *tx, size_t cap,
                       size_t *txlen) {
    size_t off = 0;
    while (off < n) {
        size_t c = 0;
        rtm_status st = rtm_listener_receive(l, now, p + off, n - off, &c);
        if (st != RTM_OK) return st;
        off += c;
        if (off < n && drain(l, tx, cap, txlen) == 0 && c == 0) return -1;
    }
    drain(l, tx, cap, txlen);
    return RTM_OK;
}

/* Counts the answers in tx; sets *errors to those with a non-zero status; writes seqs. */
static size_t answers(const uint8_t *tx, size_t len, uint32_t *seqs, size_t max, size_t *errors) {
    size_t n = 0, off = 0;
    fpnn_frame f;
    if (errors) *errors = 0;
    while (off < len && fpnn_parse(tx + off, len - off, &f)) {
        if (f.mtype == 2) {
            if (n < max && seqs) seqs[n] = f.seq;
            if (errors && f.ss != 0) (*errors)++;
            n++;
        }
        off += f.total;
    }
    return n;
}

/* Finds the first twoway quest with `method` in tx; returns its seq or 0. */
static uint32_t quest_seq(const uint8_t *tx, size_t len, const char *method) {
    size_t off = 0;
    fpnn_frame f;
    while (off < len && fpnn_parse(tx + off, len - off, &f)) {
        if (f.mtype == 1 && fpnn_is(&f, method)) return f.seq;
        off += f.total;
    }
    return 0;
}

/* Answers every twoway quest in tx with an empty OK map; returns how many. */
static size_t answer_quests(rtm_listener *l, uint64_t now, const uint8_t *tx, size_t len) {
    size_t off = 0, n = 0;
    fpnn_frame f;
    uint8_t a[32], sink[4096];
    size_t sinklen = 0;
    while (off < len && fpnn_parse(tx + off, len - off, &f)) {
        if (f.mtype == 1) {
            size_t k = answer_ok(a, sizeof a, f.seq);
            feed(l, now, a, k, sink, sizeof sink, &sinklen);
            n++;
        }
        off += f.total;
    }
    return n;
}

static const int64_t UID = 1001, GID = 2001, RID = 3001, FROM = 1002, MTIME = 1700000000000LL;

/* Close reasons as a host passes them (compound literals: all eight fields). */
#define R_PEER (&(rtm_close_reason){RTM_REASON_PEER_CLOSED, 0, 0, 0, 0, 0, 0, 0})
#define R_HOST (&(rtm_close_reason){RTM_REASON_HOST, 0, 0, 0, 0, 0, 0, 0})
#define R_RESET (&(rtm_close_reason){RTM_REASON_IO, RTM_IO_CONNECTION_RESET, 104, 0, 0, 0, 0, 0})
#define R_REFUSED (&(rtm_close_reason){RTM_REASON_IO, RTM_IO_CONNECTION_REFUSED, 111, 0, 0, 0, 0, 0})

/* ---------------------------------------------------------------- layout, statuses */

static void test_layout(void) {
    check_group("layout");
    CHECK(sizeof(rtm_listener) == RTM_LISTENER_STORAGE);
    CHECK(sizeof(rtm_listener) >= rtm_listener_size());
    CHECK(rtm_listener_size() > 0);
    CHECK(RTM_LISTENER_ALIGN >= rtm_listener_align());
    CHECK(rtm_listener_align() > 0 && (rtm_listener_align() & (rtm_listener_align() - 1)) == 0);
    CHECK(offsetof(struct align_probe, l) % rtm_listener_align() == 0);
    {
        static rtm_listener st;
        CHECK(((uintptr_t)&st) % rtm_listener_align() == 0);
    }
}

static void test_status_strings(void) {
    static const rtm_status known[] = {RTM_OK,
                                       RTM_NONE,
                                       RTM_CLOSE,
                                       RTM_ERR_NULL,
                                       RTM_ERR_BUSY,
                                       RTM_ERR_UNINIT,
                                       RTM_ERR_STORAGE,
                                       RTM_ERR_SECRET_TOO_LONG,
                                       RTM_ERR_INVALID_ARG,
                                       RTM_ERR_BUFFER_TOO_SMALL,
                                       RTM_ERR_TOO_MANY_PENDING,
                                       RTM_ERR_TOO_MANY_IDS,
                                       RTM_ERR_UNSUPPORTED_EVENT,
                                       RTM_ERR_TOO_LARGE,
                                       RTM_ERR_NOT_CONNECTED,
                                       RTM_ERR_KEY_WRONG_LENGTH,
                                       RTM_ERR_KEY_NOT_UNCOMPRESSED,
                                       RTM_ERR_KEY_NOT_ON_CURVE,
                                       RTM_ERR_KEY_NOT_EC,
                                       RTM_ERR_KEY_UNKNOWN_CURVE,
                                       RTM_ERR_KEY_BAD_PEM,
                                       RTM_ERR_KEY_TOO_LONG,
                                       RTM_ERR_KEY_BAD_DER,
                                       RTM_ERR_KEY_NEEDS_CURVE,
                                       RTM_ERR_KEY_CURVE_MISMATCH,
                                       RTM_ERR_UNKNOWN_CURVE,
                                       RTM_ERR_CURVE_NOT_COMPILED,
                                       RTM_ERR_SHORT_ENTROPY,
                                       RTM_ERR_ENCRYPTION_NOT_COMPILED};
    static const rtm_status unknown[] = {-1, 3, 99, 107, 109, 115, 119, 134, 1000, INT32_MIN, INT32_MAX};
    const size_t nk = sizeof known / sizeof known[0], nu = sizeof unknown / sizeof unknown[0];
    const char *unk = rtm_status_str(9999);
    size_t i, j;
    check_group("rtm_status_str");
    CHECK(unk != NULL && strlen(unk) > 0);
    for (i = 0; i < nk; i++) {
        const char *s = rtm_status_str(known[i]);
        CHECK(s != NULL && strlen(s) > 0);
        CHECK(s != NULL && strcmp(s, unk) != 0);
        for (j = 0; j < i; j++) CHECK(strcmp(s, rtm_status_str(known[j])) != 0);
    }
    for (i = 0; i < nu; i++) CHECK(strcmp(rtm_status_str(unknown[i]), unk) == 0);
    CHECK(strcmp(rtm_status_str(RTM_OK), "ok") == 0);
    CHECK(strstr(rtm_status_str(RTM_ERR_NULL), "NULL") != NULL);
}

/* ---------------------------------------------------------------- argument checking */

static void test_null_args(void) {
    static rtm_listener l;
    rec r;
    rtm_config c;
    rtm_ids ids, bad;
    const uint8_t *data = NULL;
    size_t len = 0, consumed = 77;
    uint64_t at = 0;
    uint32_t id = 0;
    int64_t one = 1;
    rtm_str nullstr;
    nullstr.ptr = NULL;
    nullstr.len = 3;
    check_group("NULL arguments");
    {
        const rtm_translated_info *t = (const rtm_translated_info *)&c;
        const rtm_file_info *f = (const rtm_file_info *)&c;
        CHECK_EQ(rtm_message_info(NULL, NULL, NULL), RTM_INFO_NONE);
        CHECK_EQ(rtm_message_info(NULL, &t, &f), RTM_INFO_NONE);
        CHECK(t == NULL && f == NULL);
    }
    memset(&r, 0, sizeof r);
    c = config(1, "s", rec_monitor(&r));
    CHECK_ST(rtm_listener_init(NULL, sizeof l, &c), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_init(&l, sizeof l, NULL), RTM_ERR_NULL);
    c.secret = nullstr;
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_ERR_NULL);
    c.secret.len = 0; /* a NULL pointer with length 0 is an empty secret */
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
    c = config(1, "s", rec_monitor(&r));
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);

    CHECK_ST(rtm_listener_deinit(NULL), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_set_unix_time(NULL, 0, 0), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_connected(NULL, 0, S("x")), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_connected(&l, 0, nullstr), RTM_ERR_NULL);
    CHECK_EQ(r.counts[CB_CONNECTED], 0);
    CHECK_ST(rtm_listener_connect_failed(NULL, 0, S("x"), R_REFUSED), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_connect_failed(&l, 0, S("x"), NULL), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_connect_failed(&l, 0, nullstr, R_REFUSED), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_closed(NULL, 0, R_PEER), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_closed(&l, 0, NULL), RTM_ERR_NULL);
    CHECK_EQ(r.counts[CB_CONNECT_FAILED], 0);
    {
        rtm_close_reason reason;
        rtm_stats stats;
        rtm_listen_state state;
        bool in_sync = false;
        size_t count = 0;
        int64_t out[2];
        CHECK_ST(rtm_listener_close_reason(NULL, &reason), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_close_reason(&l, NULL), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_stats(NULL, &stats), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_stats(&l, NULL), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_in_sync(NULL, &in_sync), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_in_sync(&l, NULL), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_pending_commands(NULL, &count), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_pending_commands(&l, NULL), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_listen_state(NULL, RTM_LISTEN_DESIRED, &state), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_listen_state(&l, RTM_LISTEN_DESIRED, NULL), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_listen_ids(NULL, RTM_LISTEN_DESIRED, RTM_IDS_USER, out, 2, &count), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_listen_ids(&l, RTM_LISTEN_DESIRED, RTM_IDS_USER, NULL, 2, &count), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_listen_ids(&l, RTM_LISTEN_DESIRED, RTM_IDS_USER, out, 2, NULL), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_listen_ids(&l, RTM_LISTEN_DESIRED, RTM_IDS_USER, NULL, 0, &count), RTM_OK);
        CHECK(rtm_close_reason_str(NULL) != NULL);
        CHECK(!rtm_close_reason_is_error(NULL));
    }
    CHECK_ST(rtm_listener_handle_timeout(NULL, 0), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_receive(NULL, 0, (const uint8_t *)"x", 1, &consumed), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_receive(&l, 0, NULL, 1, &consumed), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_receive(&l, 0, (const uint8_t *)"x", 1, NULL), RTM_ERR_NULL);
    CHECK_EQ(consumed, 77); /* outputs are written only on success */
    CHECK_ST(rtm_listener_transmit(NULL, &data, &len), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_transmit(&l, NULL, &len), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_transmit(&l, &data, NULL), RTM_ERR_NULL);
    CHECK(data == NULL && len == 0);
    CHECK_ST(rtm_listener_transmit_done(NULL, 0), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_next_timeout(NULL, &at), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_next_timeout(&l, NULL), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_reconnect_at(NULL, &at), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_reconnect_at(&l, NULL), RTM_ERR_NULL);
    /* encryption: NULL settings are plaintext; NULL data with a length is refused */
    CHECK_ST(rtm_encryption_check(NULL), RTM_OK);
    CHECK_ST(rtm_listener_set_encryption(NULL, NULL), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_set_encryption(&l, NULL), RTM_OK);
    CHECK_ST(rtm_listener_add_entropy(NULL, (const uint8_t *)"x", 1), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_add_entropy(&l, NULL, 1), RTM_ERR_NULL);
    CHECK_ST(rtm_listener_add_entropy(&l, NULL, 0), RTM_OK);
    {
        rtm_encryption e;
        memset(&e, 0, sizeof e);
        e.server_key_len = 64; /* NULL key with a length */
        CHECK_ST(rtm_encryption_check(&e), RTM_ERR_NULL);
        CHECK_ST(rtm_listener_set_encryption(&l, &e), RTM_ERR_NULL);
        c.encryption = e;
        CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_ERR_NULL);
        memset(&e, 0, sizeof e);
        e.entropy_len = 32; /* NULL entropy with a length */
        CHECK_ST(rtm_encryption_check(&e), RTM_ERR_NULL);
        memset(&c.encryption, 0, sizeof c.encryption);
    }

    memset(&ids, 0, sizeof ids);
    ids.uids = &one;
    ids.uids_len = 1;
    CHECK_ST(rtm_listen_add(NULL, 0, &ids, &id), RTM_ERR_NULL);
    CHECK_ST(rtm_listen_add(&l, 0, NULL, &id), RTM_ERR_NULL);
    CHECK_ST(rtm_listen_add(&l, 0, &ids, NULL), RTM_ERR_NULL);
    CHECK_ST(rtm_listen_remove(NULL, 0, &ids, &id), RTM_ERR_NULL);
    CHECK_ST(rtm_listen_remove(&l, 0, NULL, &id), RTM_ERR_NULL);
    CHECK_ST(rtm_listen_remove(&l, 0, &ids, NULL), RTM_ERR_NULL);
    CHECK_ST(rtm_listen_set(NULL, 0, &ids, &id), RTM_ERR_NULL);
    CHECK_ST(rtm_listen_set(&l, 0, NULL, &id), RTM_ERR_NULL);
    CHECK_ST(rtm_listen_set(&l, 0, &ids, NULL), RTM_ERR_NULL);
    CHECK_ST(rtm_listen_set_all(NULL, 0, true, false, true, false, &id), RTM_ERR_NULL);
    CHECK_ST(rtm_listen_set_all(&l, 0, true, false, true, false, NULL), RTM_ERR_NULL);
    /* NULL list pointers with a non-zero length, in each list */
    bad = ids;
    bad.gids = NULL;
    bad.gids_len = 1;
    CHECK_ST(rtm_listen_add(&l, 0, &bad, &id), RTM_ERR_NULL);
    bad = ids;
    bad.rids = NULL;
    bad.rids_len = 2;
    CHECK_ST(rtm_listen_set(&l, 0, &bad, &id), RTM_ERR_NULL);
    bad = ids;
    bad.uids = NULL;
    CHECK_ST(rtm_listen_remove(&l, 0, &bad, &id), RTM_ERR_NULL);
    bad = ids;
    bad.events = NULL;
    bad.events_len = 1;
    CHECK_ST(rtm_listen_add(&l, 0, &bad, &id), RTM_ERR_NULL);
    {
        rtm_str ev[1];
        ev[0] = nullstr; /* an event name with a NULL pointer */
        bad = ids;
        bad.events = ev;
        bad.events_len = 1;
        CHECK_ST(rtm_listen_add(&l, 0, &bad, &id), RTM_ERR_NULL);
    }
    CHECK_EQ(id, 0); /* never written on failure */
    /* NULL lists with length 0 are fine */
    memset(&bad, 0, sizeof bad);
    CHECK_ST(rtm_listen_set(&l, 0, &bad, &id), RTM_OK);
    CHECK(id != 0);
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
}

static void test_storage(void) {
    static union {
        rtm_listener l;
        uint64_t align;
        unsigned char bytes[sizeof(rtm_listener) + 16];
    } buf;
    static RTM_ALIGNED(RTM_LISTENER_ALIGN) uint64_t exact[RTM_LISTENER_STORAGE / 8];
    /* 8-aligned but not 16-aligned, with room for the listener */
    static RTM_ALIGNED(RTM_LISTENER_ALIGN) uint64_t eight[RTM_LISTENER_STORAGE / 8 + 2];
    rtm_config c;
    rec r;
    uint64_t at;
    check_group("storage");
    memset(&r, 0, sizeof r);
    c = config(1, "s", rec_monitor(&r));
    CHECK_ST(rtm_listener_init(&buf.l, 0, &c), RTM_ERR_STORAGE);
    CHECK_ST(rtm_listener_init(&buf.l, 16, &c), RTM_ERR_STORAGE);
    CHECK_ST(rtm_listener_init(&buf.l, rtm_listener_size() - 1, &c), RTM_ERR_STORAGE);
    CHECK_ST(rtm_listener_next_timeout(&buf.l, &at), RTM_ERR_UNINIT); /* nothing was built */
    /* misaligned by 1 and by 4, with enough bytes */
    CHECK_ST(rtm_listener_init((rtm_listener *)(void *)(buf.bytes + 1), sizeof buf.bytes - 1, &c), RTM_ERR_STORAGE);
    CHECK_ST(rtm_listener_init((rtm_listener *)(void *)(buf.bytes + 4), sizeof buf.bytes - 4, &c), RTM_ERR_STORAGE);
    /* a misaligned handle is refused by the other functions too */
    CHECK_ST(rtm_listener_handle_timeout((rtm_listener *)(void *)(buf.bytes + 1), 0), RTM_ERR_STORAGE);
    /* storage aligned to 8 only: enough exactly when the library needs no more (16 where the
     * AES state is 16-aligned, with encryption on x86-64) */
    CHECK_ST(rtm_listener_init((rtm_listener *)(void *)(eight + 1), sizeof eight - 8, &c),
             rtm_listener_align() > 8 ? RTM_ERR_STORAGE : RTM_OK);
    if (rtm_listener_align() <= 8) CHECK_ST(rtm_listener_deinit((rtm_listener *)(void *)(eight + 1)), RTM_OK);
    /* exactly rtm_listener_size() bytes, aligned to RTM_LISTENER_ALIGN, is enough */
    CHECK_ST(rtm_listener_init((rtm_listener *)(void *)exact, rtm_listener_size(), &c), RTM_OK);
    CHECK_ST(rtm_listener_connected((rtm_listener *)(void *)exact, 0, S("e")), RTM_OK);
    CHECK_EQ(r.counts[CB_CONNECTED], 1);
    CHECK_ST(rtm_listener_deinit((rtm_listener *)(void *)exact), RTM_OK);
    /* more bytes than needed is fine */
    CHECK_ST(rtm_listener_init(&buf.l, sizeof buf, &c), RTM_OK);
    CHECK_ST(rtm_listener_deinit(&buf.l), RTM_OK);
}

static void test_uninit(void) {
    static rtm_listener l;
    const uint8_t *data = NULL;
    size_t len = 0, consumed = 0;
    uint64_t at = 0;
    uint32_t id = 0;
    rtm_ids ids;
    rtm_config c;
    rec r;
    check_group("uninitialised handle");
    memset(&ids, 0, sizeof ids);
    memset(&l, 0, sizeof l);
    memset(&r, 0, sizeof r);
    CHECK_ST(rtm_listener_deinit(&l), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listener_set_unix_time(&l, 0, 0), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listener_connected(&l, 0, S("x")), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listener_connect_failed(&l, 0, S("x"), R_REFUSED), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listener_closed(&l, 0, R_RESET), RTM_ERR_UNINIT);
    {
        rtm_stats stats;
        bool in_sync;
        CHECK_ST(rtm_listener_stats(&l, &stats), RTM_ERR_UNINIT);
        CHECK_ST(rtm_listener_in_sync(&l, &in_sync), RTM_ERR_UNINIT);
    }
    CHECK_ST(rtm_listener_receive(&l, 0, (const uint8_t *)"x", 1, &consumed), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listener_handle_timeout(&l, 0), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listener_transmit(&l, &data, &len), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listener_transmit_done(&l, 0), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listener_next_timeout(&l, &at), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listener_reconnect_at(&l, &at), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listen_add(&l, 0, &ids, &id), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listen_remove(&l, 0, &ids, &id), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listen_set(&l, 0, &ids, &id), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listen_set_all(&l, 0, true, true, true, true, &id), RTM_ERR_UNINIT);
    /* random garbage is not a listener either */
    memset(&l, 0xa5, sizeof l);
    CHECK_ST(rtm_listener_handle_timeout(&l, 0), RTM_ERR_UNINIT);
    /* init, deinit, then everything is UNINIT again; deinit twice is UNINIT; re-init works */
    c = config(1, "s", rec_monitor(&r));
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
    CHECK_ST(rtm_listener_connected(&l, 0, S("x")), RTM_OK);
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
    CHECK_ST(rtm_listener_deinit(&l), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listener_handle_timeout(&l, 0), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listener_transmit(&l, &data, &len), RTM_ERR_UNINIT);
    CHECK_ST(rtm_listen_set_all(&l, 0, true, true, true, true, &id), RTM_ERR_UNINIT);
    CHECK_EQ(id, 0);
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
    at = 4242;
    CHECK_ST(rtm_listener_reconnect_at(&l, &at), RTM_NONE); /* fresh: no advice before a close */
    CHECK_EQ(at, 4242);
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
}

/* Every re-entrant call the recorder made got RTM_ERR_BUSY. */
static void check_all_busy(const rec *r) {
    size_t i, busy = 0;
    for (i = 0; i < r->nreenter; i++) busy += r->reenter_st[i] == RTM_ERR_BUSY;
    CHECK_EQ(r->nreenter, 21);
    CHECK_EQ(busy, r->nreenter);
}

static void test_reentry(void) {
    static rtm_listener l;
    static rec r;
    size_t txlen = 0;
    uint8_t frame[256], tx[1024];
    uint64_t at;
    uint32_t id = 0;
    check_group("re-entry (RTM_ERR_BUSY)");
    CHECK_ST(setup(&l, &r, 1, 0), RTM_OK);
    /* from a message callback */
    r.reenter = &l;
    CHECK_ST(feed(&l, 10, frame, push_text(frame, sizeof frame, 7, TO_P2P, FROM, UID, 1, 30, "hi", "", MTIME), tx,
                  sizeof tx, &txlen),
             RTM_OK);
    CHECK_EQ(r.counts[CB_P2P_CHAT], 1);
    check_all_busy(&r);
    CHECK_EQ(answers(tx, txlen, NULL, 0, NULL), 1); /* the push is still answered once */
    /* from closed() and connected() */
    r.reenter = &l;
    r.nreenter = 0;
    CHECK_ST(rtm_listener_closed(&l, 20, R_HOST), RTM_OK);
    check_all_busy(&r);
    r.reenter = &l;
    r.nreenter = 0;
    CHECK_ST(rtm_listener_connected(&l, 30, S("again")), RTM_OK);
    check_all_busy(&r);
    /* from completed() */
    CHECK_ST(rtm_listen_set_all(&l, 40, true, true, true, true, &id), RTM_OK);
    txlen = 0;
    drain(&l, tx, sizeof tx, &txlen);
    r.reenter = &l;
    r.nreenter = 0;
    CHECK_EQ(answer_quests(&l, 50, tx, txlen), 1);
    CHECK_EQ(r.counts[CB_COMPLETED], 1);
    check_all_busy(&r);
    /* the listener is intact afterwards */
    CHECK_ST(rtm_listener_next_timeout(&l, &at), RTM_OK);
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
}

/* ---------------------------------------------------------------- error statuses */

static void test_errors(void) {
    static rtm_listener l;
    static rec r;
    rtm_config c;
    char secret[80];
    int64_t many[80];
    size_t i, txlen = 0, consumed = 99;
    uint32_t id = 0, first_id;
    rtm_ids ids;
    const uint8_t *data = NULL;
    size_t len = 0;
    uint8_t tx[4096];
    check_group("error statuses");
    memset(&r, 0, sizeof r);
    /* SECRET_TOO_LONG: 65 bytes refused, 64 accepted */
    memset(secret, 'k', sizeof secret);
    secret[65] = 0;
    c = config(1, secret, rec_monitor(&r));
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_ERR_SECRET_TOO_LONG);
    CHECK_ST(rtm_listener_handle_timeout(&l, 0), RTM_ERR_UNINIT);
    secret[64] = 0;
    c = config(1, secret, rec_monitor(&r));
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);

    /* NOT_CONNECTED: bytes before connected() */
    CHECK_ST(rtm_listener_receive(&l, 0, (const uint8_t *)"FPNN", 4, &consumed), RTM_ERR_NOT_CONNECTED);
    CHECK_EQ(consumed, 99);
    CHECK_ST(rtm_listener_connected(&l, 0, S("e")), RTM_OK);
    CHECK_ST(rtm_listener_receive(&l, 0, (const uint8_t *)"FPNN", 4, &consumed), RTM_OK);
    CHECK_EQ(consumed, 4);
    CHECK_ST(rtm_listener_closed(&l, 1, R_RESET), RTM_OK);
    CHECK_ST(rtm_listener_receive(&l, 2, (const uint8_t *)"FPNN", 4, &consumed), RTM_ERR_NOT_CONNECTED);
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);

    CHECK_ST(setup(&l, &r, 1, 0), RTM_OK);
    /* INVALID_ARG: transmit_done(n > len) */
    CHECK_ST(rtm_listener_transmit(&l, &data, &len), RTM_OK);
    CHECK_EQ(len, 0);
    CHECK_ST(rtm_listener_transmit_done(&l, 1), RTM_ERR_INVALID_ARG);
    CHECK_ST(rtm_listen_set_all(&l, 0, true, false, false, false, &id), RTM_OK);
    CHECK_ST(rtm_listener_transmit(&l, &data, &len), RTM_OK);
    CHECK(len > 0);
    CHECK_ST(rtm_listener_transmit_done(&l, len + 1), RTM_ERR_INVALID_ARG);
    {
        size_t len2 = 0;
        const uint8_t *d2 = NULL;
        CHECK_ST(rtm_listener_transmit(&l, &d2, &len2), RTM_OK);
        CHECK_EQ(len2, len); /* nothing was taken */
    }
    CHECK_ST(rtm_listener_transmit_done(&l, len), RTM_OK);
    /* INVALID_ARG: a misaligned id list */
    {
        static union {
            int64_t v[3];
            unsigned char b[24];
        } u;
        memset(&ids, 0, sizeof ids);
        ids.gids = (const int64_t *)(const void *)(u.b + 4);
        ids.gids_len = 1;
        CHECK_ST(rtm_listen_add(&l, 0, &ids, &id), RTM_ERR_INVALID_ARG);
    }

    /* UNSUPPORTED_EVENT */
    {
        rtm_str ev[2];
        ev[0] = S("login");
        ev[1] = S("typing");
        memset(&ids, 0, sizeof ids);
        ids.events = ev;
        ids.events_len = 2;
        id = 0;
        CHECK_ST(rtm_listen_add(&l, 0, &ids, &id), RTM_ERR_UNSUPPORTED_EVENT);
        ev[1] = S("LOGIN"); /* names are case-sensitive */
        CHECK_ST(rtm_listen_set(&l, 0, &ids, &id), RTM_ERR_UNSUPPORTED_EVENT);
        CHECK_EQ(id, 0);
        ev[1] = S("logout");
        CHECK_ST(rtm_listen_remove(&l, 0, &ids, &id), RTM_OK);
        CHECK(id != 0);
    }

    /* TOO_MANY_IDS: 65 refused, 64 accepted (default capacity) */
    for (i = 0; i < 80; i++) many[i] = 5000000000LL + (int64_t)i;
    memset(&ids, 0, sizeof ids);
    ids.uids = many;
    ids.uids_len = 65;
    CHECK_ST(rtm_listen_add(&l, 0, &ids, &id), RTM_ERR_TOO_MANY_IDS);
    ids.uids_len = 30;
    ids.gids = many + 30;
    ids.gids_len = 30;
    ids.rids = many + 60;
    ids.rids_len = 5;
    CHECK_ST(rtm_listen_set(&l, 0, &ids, &id), RTM_ERR_TOO_MANY_IDS);
    ids.rids_len = 4;
    CHECK_ST(rtm_listen_set(&l, 0, &ids, &id), RTM_OK);
    /* and with 64 ids pending, one more is too many */
    memset(&ids, 0, sizeof ids);
    ids.uids = many + 70;
    ids.uids_len = 1;
    CHECK_ST(rtm_listen_add(&l, 0, &ids, &id), RTM_ERR_TOO_MANY_IDS);
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);

    /* TOO_MANY_PENDING: 8 commands fit, the 9th is refused; nothing more is sent */
    CHECK_ST(setup(&l, &r, 1, 0), RTM_OK);
    first_id = 0;
    for (i = 0; i < 8; i++) {
        CHECK_ST(rtm_listen_set_all(&l, 0, i % 2 == 0, true, false, true, &id), RTM_OK);
        if (i == 0) first_id = id;
    }
    CHECK_EQ(id, first_id + 7);
    txlen = 0;
    drain(&l, tx, sizeof tx, &txlen);
    CHECK(quest_seq(tx, txlen, "setlisten") != 0);
    memset(&ids, 0, sizeof ids);
    ids.gids = many;
    ids.gids_len = 1;
    id = 0;
    CHECK_ST(rtm_listen_add(&l, 0, &ids, &id), RTM_ERR_TOO_MANY_PENDING);
    CHECK_ST(rtm_listen_set_all(&l, 0, true, true, true, true, &id), RTM_ERR_TOO_MANY_PENDING);
    CHECK_EQ(id, 0);
    CHECK_EQ(drain(&l, NULL, 0, NULL), 0);
    /* one listen quest in flight: its answer confirms the first command's flags, which the
     * desired state has moved past, so the next quest carries the last flags; its answer
     * confirms every command at once (in request order), freeing every slot */
    {
        uint8_t a[32], sink[256];
        size_t k = answer_ok(a, sizeof a, quest_seq(tx, txlen, "setlisten")), sinklen = 0;
        bool in_sync = true;
        CHECK_ST(feed(&l, 1, a, k, sink, sizeof sink, &sinklen), RTM_OK);
        CHECK_EQ(r.counts[CB_COMPLETED], 0);
        CHECK_ST(rtm_listener_in_sync(&l, &in_sync), RTM_OK);
        CHECK(!in_sync);
        CHECK(quest_seq(sink, sinklen, "setlisten") != 0); /* sent when the answer came */
        k = answer_ok(a, sizeof a, quest_seq(sink, sinklen, "setlisten"));
        CHECK_ST(feed(&l, 2, a, k, sink, sizeof sink, &sinklen), RTM_OK);
        CHECK_EQ(r.counts[CB_COMPLETED], 8);
        CHECK_EQ(r.done_code, 0);
        CHECK_EQ(r.done_id, first_id + 7);
        for (i = 0; i < 8; i++) CHECK_EQ(r.done_codes[i], 0);
        for (i = 0; i < 8; i++) CHECK_ST(rtm_listen_add(&l, 3, &ids, &id), RTM_OK);
        CHECK_ST(rtm_listen_add(&l, 3, &ids, &id), RTM_ERR_TOO_MANY_PENDING);
    }
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
    /* RTM_ERR_TOO_LARGE cannot happen with the default capacities (64 ids always fit in the
     * 1 KiB transmit buffer); test_too_large.c provokes it with a build of 120 ids. */
}

/* ---------------------------------------------------------------- recorded frames */

static void check_vector_callback(const rec *r, const struct rtm_vector *v) {
    int cb = cb_by_name(v->callback);
    CHECK(cb >= 0);
    if (cb < 0) return;
    CHECK_EQ(r->counts[cb], 1);
    if (cb >= CB_P2P_MESSAGE && cb <= CB_ROOM_CMD) {
        const msg_copy *m = &r->last[cb];
        CHECK_EQ(m->from_uid, v->from_uid);
        CHECK_EQ(m->to_id, v->to_id);
        CHECK_EQ(m->mtype, v->message_type);
        CHECK_EQ(m->mid, v->message_id);
        CHECK_SB(m->message, v->message);
        CHECK_SB(m->attrs, v->attrs);
        CHECK_EQ(m->mtime, v->modified_time);
        CHECK(!m->has_tr && !m->has_file);
    } else if (cb == CB_EVENT) {
        CHECK_EQ(r->ev_pid, v->pid);
        CHECK_SB(r->ev_event, v->event);
        CHECK_EQ(r->ev_uid, v->uid);
        CHECK_EQ(r->ev_time, v->time);
        CHECK_SB(r->ev_endpoint, v->endpoint);
        CHECK_SB(r->ev_data, v->data);
    }
}

static void test_vectors(void) {
    static rtm_listener l;
    static rec r;
    static uint8_t all[4096];
    size_t nall = 0, i, j;
    uint8_t frame[512], want[64], tx[2048];
    check_group("recorded frames (Python SDK)");
    CHECK(RTM_VECTORS_LEN == 4);
    /* each frame alone: the callback, its fields, and the 17-byte answer */
    for (i = 0; i < RTM_VECTORS_LEN; i++) {
        const struct rtm_vector *v = &RTM_VECTORS[i];
        size_t n = hex_decode(v->quest_hex, frame, sizeof frame), wn = hex_decode(v->answer_hex, want, sizeof want);
        size_t txlen = 0;
        CHECK(n > 0 && wn == 17);
        memcpy(all + nall, frame, n);
        nall += n;
        CHECK_ST(setup(&l, &r, (uint32_t)RTM_VECTOR_PID, 0), RTM_OK);
        CHECK_ST(feed(&l, 1, frame, n, tx, sizeof tx, &txlen), RTM_OK);
        check_vector_callback(&r, v);
        CHECK_EQ(rec_messages(&r) + r.counts[CB_EVENT] + r.counts[CB_PING], 1);
        CHECK_EQ(r.counts[CB_BAD_PUSH], 0);
        CHECK_EQ(txlen, 17);
        CHECK_EQ(tx[4], 1);   /* our version byte */
        CHECK_EQ(want[4], 0); /* the Python SDK's */
        CHECK(memcmp(tx, want, 4) == 0 && memcmp(tx + 5, want + 5, 12) == 0);
        CHECK_EQ(r.null_ptrs, 0);
        rtm_listener_deinit(&l);
    }
    /* the empty answer to seq 1 as the SDK encodes it: ours differs only in the version byte */
    {
        uint8_t ours[32];
        size_t n = hex_decode(RTM_VECTOR_EMPTY_ANSWER_SEQ1_HEX, want, sizeof want);
        CHECK_EQ(n, 17);
        CHECK_EQ(answer_ok(ours, sizeof ours, 1), 17);
        CHECK(memcmp(ours, want, 4) == 0 && memcmp(ours + 5, want + 5, 12) == 0);
    }
    /* all frames in one buffer, then one byte at a time: the same callbacks and answers */
    for (j = 0; j < 2; j++) {
        size_t txlen = 0, errors = 0;
        uint32_t seqs[8];
        CHECK_ST(setup(&l, &r, (uint32_t)RTM_VECTOR_PID, 0), RTM_OK);
        if (j == 0) {
            CHECK_ST(feed(&l, 1, all, nall, tx, sizeof tx, &txlen), RTM_OK);
        } else {
            for (i = 0; i < nall; i++) CHECK_ST(feed(&l, 1, all + i, 1, tx, sizeof tx, &txlen), RTM_OK);
        }
        for (i = 0; i < RTM_VECTORS_LEN; i++) check_vector_callback(&r, &RTM_VECTORS[i]);
        CHECK_EQ(answers(tx, txlen, seqs, 8, &errors), 4);
        CHECK_EQ(errors, 0);
        CHECK(seqs[0] == 101 && seqs[1] == 102 && seqs[2] == 104 && seqs[3] == 105);
        /* in order: chat, cmd, event, ping */
        CHECK(r.norder >= 5 && r.order[1] == CB_P2P_CHAT && r.order[2] == CB_GROUP_CMD && r.order[3] == CB_EVENT &&
              r.order[4] == CB_PING);
        rtm_listener_deinit(&l);
    }
    /* the same push twice (same mid, new seq): answered twice, delivered once */
    {
        size_t txlen = 0, n = hex_decode(RTM_VECTORS[0].quest_hex, frame, sizeof frame);
        uint32_t seqs[4];
        CHECK_ST(setup(&l, &r, (uint32_t)RTM_VECTOR_PID, 0), RTM_OK);
        CHECK_ST(feed(&l, 1, frame, n, tx, sizeof tx, &txlen), RTM_OK);
        le32(frame + 12, 500);
        CHECK_ST(feed(&l, 2, frame, n, tx, sizeof tx, &txlen), RTM_OK);
        CHECK_EQ(r.counts[CB_P2P_CHAT], 1);
        CHECK_EQ(answers(tx, txlen, seqs, 4, NULL), 2);
        CHECK(seqs[0] == 101 && seqs[1] == 500);
        rtm_listener_deinit(&l);
    }
}

/* ---------------------------------------------------------------- every push kind */

static void test_all_kinds(void) {
    static rtm_listener l;
    static rec r;
    static uint8_t buf[16384], tx[8192], all_pushes[32768];
    static const uint8_t audio[4] = {1, 2, 3, 4};
    static const enum push_target targets[3] = {TO_P2P, TO_GROUP, TO_ROOM};
    static const int64_t to[3] = {1001, 2001, 3001};
    static const int chat_cb[3] = {CB_P2P_CHAT, CB_GROUP_CHAT, CB_ROOM_CHAT};
    static const int audio_cb[3] = {CB_P2P_AUDIO, CB_GROUP_AUDIO, CB_ROOM_AUDIO};
    static const int cmd_cb[3] = {CB_P2P_CMD, CB_GROUP_CMD, CB_ROOM_CMD};
    static const int file_cb[3] = {CB_P2P_FILE, CB_GROUP_FILE, CB_ROOM_FILE};
    static const int msg_cb[3] = {CB_P2P_MESSAGE, CB_GROUP_MESSAGE, CB_ROOM_MESSAGE};
    size_t n = 0, txlen = 0, errors = 0, t, nall = 0;
    uint32_t seq = 1;
    check_group("every push kind");
    CHECK_ST(setup(&l, &r, 1000001, 0), RTM_OK);
    for (t = 0; t < 3; t++) {
        int64_t base = 100 * (int64_t)(t + 1);
        n += push_text(buf + n, sizeof buf - n, seq++, targets[t], FROM, to[t], base + 1, 30, "plain chat", "", MTIME);
        n += push_message(buf + n, sizeof buf - n, seq++, targets[t], FROM, to[t], base + 2, 31, audio, 4, 1, "a",
                          MTIME);
        n += push_text(buf + n, sizeof buf - n, seq++, targets[t], FROM, to[t], base + 3, 32, "cmd", "", MTIME);
        n += push_text(buf + n, sizeof buf - n, seq++, targets[t], FROM, to[t], base + 4, 40 + (int)t * 5,
                       "{\"url\":\"http://x/f\",\"size\":77,\"surl\":\"http://x/s\"}",
                       "{\"rtm\":{\"type\":\"audiomsg\",\"lang\":\"en\",\"duration\":1500},\"custom\":{\"k\":[1,2]}}",
                       MTIME);
        n += push_text(buf + n, sizeof buf - n, seq++, targets[t], FROM, to[t], base + 5, 7, "generic", "{}", MTIME);
    }
    CHECK(n > 0 && n < sizeof buf);
    memcpy(all_pushes, buf, n);
    nall = n;
    CHECK_ST(feed(&l, 5, buf, n, tx, sizeof tx, &txlen), RTM_OK);
    CHECK_EQ(r.counts[CB_BAD_PUSH], 0);
    CHECK_EQ(rec_messages(&r), 15);
    for (t = 0; t < 3; t++) {
        int64_t base = 100 * (int64_t)(t + 1);
        const msg_copy *m;
        CHECK_EQ(r.counts[chat_cb[t]], 1);
        CHECK_EQ(r.last[chat_cb[t]].to_id, to[t]);
        CHECK_SB(r.last[chat_cb[t]].message, "plain chat");
        CHECK(!r.last[chat_cb[t]].has_tr);
        CHECK_EQ(r.counts[cmd_cb[t]], 1);
        CHECK_EQ(r.last[cmd_cb[t]].mtype, 32);
        CHECK_SB(r.last[cmd_cb[t]].message, "cmd");
        CHECK_EQ(r.counts[audio_cb[t]], 1);
        CHECK_EQ(r.counts[file_cb[t]], 1);
        CHECK_EQ(r.counts[msg_cb[t]], 1);
        m = &r.last[audio_cb[t]];
        CHECK_EQ(m->mid, base + 2);
        CHECK_EQ(m->mtype, 31);
        CHECK_MEM(m->message.b, m->message.n, audio, 4);
        CHECK_SB(m->attrs, "a");
        m = &r.last[file_cb[t]];
        CHECK_EQ(m->mid, base + 4);
        CHECK_EQ(m->mtype, 40 + (int)t * 5);
        CHECK(m->has_file && !m->has_tr);
        CHECK_SB(m->url, "http://x/f");
        CHECK_SB(m->surl, "http://x/s");
        CHECK_EQ(m->size, 77);
        CHECK(m->audio);
        CHECK_SB(m->language, "en");
        CHECK_EQ(m->duration, 1500);
        CHECK(m->has_custom);
        CHECK_SB(m->custom, "{\"k\":[1,2]}");
        /* message and attrs stay as received */
        CHECK_SB(m->message, "{\"url\":\"http://x/f\",\"size\":77,\"surl\":\"http://x/s\"}");
        CHECK_SB(m->attrs,
                 "{\"rtm\":{\"type\":\"audiomsg\",\"lang\":\"en\",\"duration\":1500},\"custom\":{\"k\":[1,2]}}");
        m = &r.last[msg_cb[t]];
        CHECK_EQ(m->mid, base + 5);
        CHECK_EQ(m->mtype, 7);
        CHECK_SB(m->message, "generic");
        CHECK_SB(m->attrs, "{}");
        CHECK_EQ(m->from_uid, FROM);
        CHECK_EQ(m->to_id, to[t]);
        CHECK_EQ(m->mtime, MTIME);
        CHECK(!m->has_file && !m->has_tr);
    }

    /* second batch: a translated chat (group) and a file whose custom is a string (room) */
    n = 0;
    n += push_text(buf + n, sizeof buf - n, seq++, TO_GROUP, FROM, GID, 210, 30,
                   "{\"source\":\"en\",\"target\":\"fr\",\"sourceText\":\"hello\",\"targetText\":\"bonjour\"}", "",
                   MTIME);
    n += push_text(buf + n, sizeof buf - n, seq++, TO_ROOM, FROM, RID, 310, 50, "{\"url\":\"u\\\"q\",\"size\":5}",
                   "{\"custom\":\"c\\\\d\"}", MTIME);
    /* client protocol: broadcast, kickoutroom, kickout; an event without data; RTM ping */
    n += push_text(buf + n, sizeof buf - n, seq++, TO_BROADCAST, FROM, 0, 401, 30, "to all", "", MTIME);
    n += push_kickout_room(buf + n, sizeof buf - n, seq++, RID);
    n += push_empty(buf + n, sizeof buf - n, seq++, "kickout");
    n += push_event(buf + n, sizeof buf - n, seq++, 1000001, "logout", UID, 1700000001, "10.0.0.1:5", NULL);
    n += push_empty(buf + n, sizeof buf - n, seq++, "ping");
    /* oneway: delivered, never answered */
    n += push_text(buf + n, sizeof buf - n, 0, TO_P2P, FROM, UID, 901, 32, "oneway cmd", "", MTIME);
    /* an unknown method: answered with an error, reported as bad_push */
    n += push_empty(buf + n, sizeof buf - n, seq++, "pushnothing");
    CHECK(n > 0 && n < sizeof buf);
    memcpy(all_pushes + nall, buf, n);
    nall += n;
    CHECK_ST(feed(&l, 6, buf, n, tx, sizeof tx, &txlen), RTM_OK);
    CHECK_EQ(r.counts[CB_ROOM_FILE], 2);
    CHECK_EQ(r.counts[CB_P2P_CHAT], 1);
    CHECK_EQ(r.counts[CB_GROUP_CHAT], 2);
    CHECK_EQ(r.counts[CB_ROOM_CHAT], 1);
    CHECK_SB(r.last[CB_P2P_CHAT].message, "plain chat");
    CHECK(!r.last[CB_P2P_CHAT].has_tr);
    CHECK_EQ(r.counts[CB_P2P_CMD], 2); /* including the oneway one */
    CHECK_EQ(r.last[CB_P2P_CMD].mid, 901);
    CHECK_EQ(r.counts[CB_GROUP_CMD], 1);
    CHECK_EQ(r.counts[CB_ROOM_CMD], 1);
    {
        const msg_copy *m = &r.last[CB_GROUP_CHAT];
        CHECK_EQ(m->mid, 210);
        CHECK(m->has_tr);
        CHECK_SB(m->src_lang, "en");
        CHECK_SB(m->tgt_lang, "fr");
        CHECK_SB(m->src_text, "hello");
        CHECK_SB(m->tgt_text, "bonjour");
        CHECK_SB(m->message,
                 "{\"source\":\"en\",\"target\":\"fr\",\"sourceText\":\"hello\",\"targetText\":\"bonjour\"}");
    }
    {
        const msg_copy *m = &r.last[CB_ROOM_FILE];
        CHECK_EQ(m->mid, 310);
        CHECK_SB(m->url, "u\"q"); /* unescaped */
        CHECK_EQ(m->size, 5);
        CHECK_SB(m->surl, "");
        CHECK(!m->audio);
        CHECK(m->has_custom);
        CHECK_SB(m->custom, "c\\d"); /* a string custom, unescaped */
    }
    CHECK_EQ(r.counts[CB_BROADCAST], 1);
    CHECK_EQ(r.last[CB_BROADCAST].mid, 401);
    CHECK_EQ(r.last[CB_BROADCAST].to_id, 0);
    CHECK_SB(r.last[CB_BROADCAST].message, "to all");
    CHECK_EQ(r.counts[CB_KICKOUT_ROOM], 1);
    CHECK_EQ(r.kick_rid, RID);
    CHECK_EQ(r.counts[CB_KICKOUT], 1);
    CHECK_EQ(r.counts[CB_EVENT], 1);
    CHECK_SB(r.ev_event, "logout");
    CHECK_SB(r.ev_data, ""); /* absent */
    CHECK_EQ(r.ev_time, 1700000001);
    CHECK_EQ(r.counts[CB_PING], 1);
    CHECK_EQ(r.counts[CB_BAD_PUSH], 1);
    CHECK_SB(r.bad_method, "pushnothing");
    CHECK_EQ(r.bad_code, 20004);
    CHECK(r.bad_twoway);
    CHECK_EQ(r.bad_seq, seq - 1);
    CHECK_EQ(r.bad_len, 16 + strlen("pushnothing") + 1);
    CHECK_EQ(r.null_ptrs, 0);
    /* 15 + 2 + 5 + 1 twoway pushes = 23 (the oneway one is not answered); 1 error answer
     * (the unknown method) */
    CHECK_EQ(seq - 1, 23);
    CHECK_EQ(answers(tx, txlen, NULL, 0, &errors), 23);
    CHECK_EQ(errors, 1);
    /* with a monitor of all NULL callbacks: the same pushes are answered, nothing breaks */
    {
        rtm_config c;
        rtm_monitor none;
        size_t txlen2 = 0;
        memset(&none, 0, sizeof none);
        rtm_listener_deinit(&l);
        c = config(1000001, "sim-secret", none);
        CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
        CHECK_ST(rtm_listener_connected(&l, 0, S("")), RTM_OK);
        CHECK_ST(feed(&l, 5, all_pushes, nall, tx, sizeof tx, &txlen2), RTM_OK);
        CHECK_EQ(answers(tx, txlen2, NULL, 0, &errors), 23);
        CHECK_EQ(errors, 1);
    }
    rtm_listener_deinit(&l);
}

/* ---------------------------------------------------------------- commands */

static void test_commands(void) {
    static rtm_listener l;
    static rec r;
    static uint8_t tx[4096];
    uint8_t a[128];
    size_t txlen = 0, k;
    uint32_t id = 0, seq;
    int64_t uid = UID, gid = GID, rid = RID;
    rtm_str ev[1];
    rtm_ids ids;
    uint64_t at = 0;
    check_group("listen commands and completions");
    ev[0] = S("login");
    memset(&ids, 0, sizeof ids);
    ids.uids = &uid;
    ids.uids_len = 1;
    ids.gids = &gid;
    ids.gids_len = 1;
    ids.rids = &rid;
    ids.rids_len = 1;
    ids.events = ev;
    ids.events_len = 1;

    /* OK answer -> completed(id, 0, "") */
    CHECK_ST(setup(&l, &r, 1000001, 0), RTM_OK);
    CHECK_ST(rtm_listen_add(&l, 10, &ids, &id), RTM_OK);
    CHECK(id != 0);
    drain(&l, tx, sizeof tx, &txlen);
    /* nothing confirmed yet on this connection: the whole desired state, as setlisten */
    seq = quest_seq(tx, txlen, "setlisten");
    CHECK(seq != 0);
    k = answer_ok(a, sizeof a, seq);
    CHECK_ST(feed(&l, 20, a, k, tx, sizeof tx, &txlen), RTM_OK);
    CHECK_EQ(r.counts[CB_COMPLETED], 1);
    CHECK_EQ(r.done_id, id);
    CHECK_EQ(r.done_code, 0);
    CHECK_SB(r.done_ex, "");

    /* error answer -> completed(id, code, ex) */
    txlen = 0;
    CHECK_ST(rtm_listen_remove(&l, 30, &ids, &id), RTM_OK);
    drain(&l, tx, sizeof tx, &txlen);
    seq = quest_seq(tx, txlen, "setlisten"); /* always setlisten, from the desired state */
    CHECK(seq != 0);
    k = answer_error(a, sizeof a, seq, 200002, "invalid pid or sign");
    CHECK_ST(feed(&l, 40, a, k, tx, sizeof tx, &txlen), RTM_OK);
    CHECK_EQ(r.counts[CB_COMPLETED], 2);
    CHECK_EQ(r.done_id, id);
    CHECK_EQ(r.done_code, 200002);
    CHECK_SB(r.done_ex, "invalid pid or sign");

    /* no answer -> 20003 after the quest timeout */
    CHECK_ST(rtm_listen_set_all(&l, 50, false, false, true, false, &id), RTM_OK);
    drain(&l, NULL, 0, NULL);
    CHECK_ST(rtm_listener_next_timeout(&l, &at), RTM_OK);
    CHECK(at <= 50 + 30000);
    /* ... and the listener ends the connection: a late answer could apply an older state */
    CHECK_ST(rtm_listener_handle_timeout(&l, 50 + 30001), RTM_CLOSE);
    CHECK_EQ(r.counts[CB_COMPLETED], 3);
    CHECK_EQ(r.done_id, id);
    CHECK_EQ(r.done_code, 20003);
    {
        rtm_close_reason why;
        CHECK_ST(rtm_listener_close_reason(&l, &why), RTM_OK);
        CHECK_EQ(why.kind, RTM_REASON_DEAD_LINK);
        CHECK_ST(rtm_listener_closed(&l, 30060, &why), RTM_OK);
        CHECK_EQ(r.counts[CB_CLOSED], 1);
        CHECK(r.closed_by_error);
        CHECK_ST(rtm_listener_connected(&l, 30070, S("x")), RTM_OK); /* restoration starts */
    }

    /* connection closed with a command in flight: it stays pending, its intent kept in the
     * desired state; no connection by its deadline -> 20012 (kept: still desired) */
    CHECK_ST(rtm_listen_set_all(&l, 30100, true, false, true, false, &id), RTM_OK);
    drain(&l, NULL, 0, NULL);
    CHECK_ST(rtm_listener_closed(&l, 30200, R_RESET), RTM_OK);
    CHECK_EQ(r.counts[CB_COMPLETED], 3);
    CHECK_EQ(r.counts[CB_CLOSED], 2);
    CHECK(r.closed_by_error);
    CHECK_EQ(r.counts[CB_RESTORED], 1); /* the restoration the close interrupted */
    CHECK_EQ(r.restored_code, 20002);
    {
        size_t pending = 0;
        bool in_sync = true;
        rtm_listen_state desired, confirmed;
        CHECK_ST(rtm_listener_pending_commands(&l, &pending), RTM_OK);
        CHECK_EQ(pending, 1);
        CHECK_ST(rtm_listener_in_sync(&l, &in_sync), RTM_OK);
        CHECK(!in_sync);
        CHECK_ST(rtm_listener_handle_timeout(&l, 30100 + 30000), RTM_OK);
        CHECK_EQ(r.counts[CB_COMPLETED], 4);
        CHECK_EQ(r.done_id, id);
        CHECK_EQ(r.done_code, 20012);
        CHECK_ST(rtm_listener_pending_commands(&l, &pending), RTM_OK);
        CHECK_EQ(pending, 0);
        CHECK_ST(rtm_listener_listen_state(&l, RTM_LISTEN_DESIRED, &desired), RTM_OK);
        CHECK(desired.all_group && !desired.all_room && desired.all_p2p && !desired.all_event);
        CHECK(desired.gids == 0 && desired.rids == 0 && desired.uids == 0 && !desired.login);
        CHECK_ST(rtm_listener_listen_state(&l, RTM_LISTEN_CONFIRMED, &confirmed), RTM_OK);
        CHECK(!confirmed.all_group && !confirmed.all_p2p);
        CHECK_ST(rtm_listener_listen_state(&l, 0, &confirmed), RTM_ERR_INVALID_ARG);
    }
    rtm_listener_deinit(&l);

    /* queued while disconnected and never connected -> 20012 */
    {
        rtm_config c;
        int64_t got[4];
        size_t n = 0;
        memset(&r, 0, sizeof r);
        c = config(1000001, "sim-secret", rec_monitor(&r));
        CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
        CHECK_ST(rtm_listen_add(&l, 0, &ids, &id), RTM_OK);
        CHECK_EQ(drain(&l, NULL, 0, NULL), 0); /* nothing to send without a connection */
        CHECK_ST(rtm_listener_next_timeout(&l, &at), RTM_OK);
        rtm_listener_handle_timeout(&l, 30001);
        CHECK_EQ(r.counts[CB_COMPLETED], 1);
        CHECK_EQ(r.done_code, 20012);
        /* the intent is kept: the ids are desired, none confirmed */
        CHECK_ST(rtm_listener_listen_ids(&l, RTM_LISTEN_DESIRED, RTM_IDS_GROUP, got, 4, &n), RTM_OK);
        CHECK(n == 1 && got[0] == GID);
        CHECK_ST(rtm_listener_listen_ids(&l, RTM_LISTEN_CONFIRMED, RTM_IDS_GROUP, got, 4, &n), RTM_OK);
        CHECK_EQ(n, 0);
        CHECK_ST(rtm_listener_listen_ids(&l, RTM_LISTEN_DESIRED, 9, got, 4, &n), RTM_ERR_INVALID_ARG);
        /* another command, then connected: the whole desired state is established with one
         * setlisten; both the command and the restoration complete with 0 */
        CHECK_ST(rtm_listen_add(&l, 30000, &ids, &id), RTM_OK);
        txlen = 0;
        CHECK_ST(rtm_listener_connected(&l, 30001, S("x")), RTM_OK);
        drain(&l, tx, sizeof tx, &txlen);
        seq = quest_seq(tx, txlen, "setlisten");
        CHECK(seq != 0);
        k = answer_ok(a, sizeof a, seq);
        CHECK_ST(feed(&l, 30002, a, k, tx, sizeof tx, &txlen), RTM_OK);
        CHECK_EQ(r.counts[CB_COMPLETED], 2);
        CHECK_EQ(r.done_id, id);
        CHECK_EQ(r.done_code, 0);
        CHECK_EQ(r.reconnect_flags[0], false);
        CHECK_EQ(r.counts[CB_RESTORED], 1); /* on the first connection too */
        CHECK_EQ(r.restored_code, 0);
        CHECK_ST(rtm_listener_listen_ids(&l, RTM_LISTEN_CONFIRMED, RTM_IDS_USER, got, 1, &n), RTM_OK);
        CHECK(n == 1 && got[0] == UID);
        {
            bool in_sync = false;
            CHECK_ST(rtm_listener_in_sync(&l, &in_sync), RTM_OK);
            CHECK(in_sync);
        }

        /* restoration after a reconnect: the desired state is sent again, then restored(0) */
        CHECK_ST(rtm_listener_closed(&l, 40000, R_PEER), RTM_OK);
        CHECK(!r.closed_by_error);
        CHECK_ST(rtm_listener_reconnect_at(&l, &at), RTM_OK);
        CHECK(at >= 40000);
        txlen = 0;
        CHECK_ST(rtm_listener_connected(&l, at, S("x2")), RTM_OK);
        CHECK_EQ(r.nconnect, 2);
        CHECK_EQ(r.reconnect_flags[1], true);
        CHECK_SB(r.endpoint, "x2");
        drain(&l, tx, sizeof tx, &txlen);
        CHECK(txlen > 0);
        CHECK(answer_quests(&l, at + 1, tx, txlen) >= 1);
        CHECK_EQ(r.counts[CB_RESTORED], 2);
        CHECK_EQ(r.restored_code, 0);
        rtm_listener_deinit(&l);
    }
}

/* ---------------------------------------------------------------- timers, close, reconnect */

static void test_timers(void) {
    static rtm_listener l;
    static rec r;
    static uint8_t tx[4096];
    rtm_config c;
    uint64_t at = 12345, now, prev;
    size_t txlen = 0, consumed = 0;
    int steps;
    rtm_status st = RTM_OK;
    check_group("timers, close requests, reconnect advice");
    memset(&r, 0, sizeof r);
    c = config(1, "s", rec_monitor(&r));
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
    CHECK_ST(rtm_listener_next_timeout(&l, &at), RTM_NONE);
    CHECK_EQ(at, 12345); /* untouched */
    CHECK_ST(rtm_listener_connected(&l, 1000, S("t")), RTM_OK);
    CHECK_ST(rtm_listener_reconnect_at(&l, &at), RTM_NONE); /* connected */
    CHECK_EQ(at, 12345);
    /* keepalive: *ping after 20 s of silence */
    CHECK_ST(rtm_listener_next_timeout(&l, &at), RTM_OK);
    CHECK(at > 1000 && at <= 21000);
    CHECK_ST(rtm_listener_handle_timeout(&l, 500), RTM_OK); /* early and "backwards": harmless */
    CHECK_EQ(drain(&l, NULL, 0, NULL), 0);
    CHECK_ST(rtm_listener_handle_timeout(&l, 21000), RTM_OK);
    drain(&l, tx, sizeof tx, &txlen);
    CHECK(quest_seq(tx, txlen, "*ping") != 0);
    /* silence: the link is declared dead (3 x 30 s + 20 s) and the listener asks to close */
    now = 21000;
    prev = 0;
    for (steps = 0; steps < 100; steps++) {
        if (rtm_listener_next_timeout(&l, &at) != RTM_OK) break;
        CHECK(at >= prev);
        prev = at;
        now = at;
        st = rtm_listener_handle_timeout(&l, now);
        drain(&l, NULL, 0, NULL);
        if (st != RTM_OK) break;
    }
    CHECK_ST(st, RTM_CLOSE);
    CHECK(now >= 1000 + 110000);
    {
        rtm_close_reason why;
        memset(&why, 0x5a, sizeof why);
        CHECK_ST(rtm_listener_close_reason(&l, &why), RTM_OK);
        CHECK_EQ(why.kind, RTM_REASON_DEAD_LINK);
        CHECK(why.io_kind == 0 && why.os_error == 0 && why.protocol == 0 && why.frame_len == 0);
        CHECK(rtm_close_reason_is_error(&why));
        CHECK(strstr(rtm_close_reason_str(&why), "dead link") != NULL);
        CHECK_ST(rtm_listener_closed(&l, now, &why), RTM_OK);
        CHECK_ST(rtm_listener_close_reason(&l, &why), RTM_NONE); /* cleared by closed */
    }
    CHECK_EQ(r.counts[CB_CLOSED], 1);
    CHECK(r.closed_by_error); /* a dead link is an error */
    CHECK_EQ(r.counts[CB_DISCONNECTED], 1);
    CHECK_EQ(r.disc_after, CB_CLOSED);
    CHECK_EQ(r.disc_reason.kind, RTM_REASON_DEAD_LINK);
    CHECK_SB(r.disc_endpoint, "t");
    CHECK_ST(rtm_listener_reconnect_at(&l, &at), RTM_OK);
    CHECK(at >= now);
    CHECK_EQ(at, now + r.disc_retry);

    /* closed() when already closed is harmless: no second closed callback */
    {
        long closed0 = r.counts[CB_CLOSED], conn0 = r.counts[CB_CONNECTED];
        CHECK_ST(rtm_listener_closed(&l, now, R_RESET), RTM_OK);
        CHECK_EQ(r.counts[CB_CLOSED], closed0);
        CHECK_ST(rtm_listener_connected(&l, now, S("t")), RTM_OK);
        CHECK_EQ(r.counts[CB_CONNECTED], conn0 + 1);
        CHECK_ST(rtm_listener_closed(&l, now, R_RESET), RTM_OK);
        CHECK_ST(rtm_listener_closed(&l, now, R_RESET), RTM_OK);
        CHECK_EQ(r.counts[CB_CLOSED], closed0 + 1);
    }

    /* malformed input: the listener asks to close */
    CHECK_ST(rtm_listener_connected(&l, now + 1, S("t")), RTM_OK);
    CHECK_ST(rtm_listener_receive(&l, now + 2, (const uint8_t *)"GARBAGE GARBAGE!", 16, &consumed), RTM_CLOSE);
    {
        rtm_close_reason why;
        CHECK_ST(rtm_listener_close_reason(&l, &why), RTM_OK);
        CHECK_EQ(why.kind, RTM_REASON_PROTOCOL);
        CHECK_EQ(why.protocol, RTM_PROTOCOL_BAD_MAGIC);
        CHECK_ST(rtm_listener_closed(&l, now + 3, &why), RTM_OK);
        CHECK_EQ(r.disc_reason.kind, RTM_REASON_PROTOCOL);
        CHECK_EQ(r.disc_reason.protocol, RTM_PROTOCOL_BAD_MAGIC);
        CHECK(r.closed_by_error);
    }

    rtm_listener_deinit(&l);

    /* back-off on a fresh listener: five failed attempts reconnect at once, the sixth waits 2 s */
    memset(&r, 0, sizeof r);
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
    {
        int i;
        uint64_t t = 5000;
        for (i = 1; i <= 6; i++) {
            CHECK_ST(rtm_listener_connect_failed(&l, t, S("gw:13321"), R_REFUSED), RTM_OK);
            CHECK_ST(rtm_listener_reconnect_at(&l, &at), RTM_OK);
            if (i < 6) CHECK_EQ(at, t);
            else CHECK_EQ(at, t + 2000);
        }
        CHECK_EQ(r.counts[CB_CONNECT_FAILED], 6);
    }
    rtm_listener_deinit(&l);
}

/* ---------------------------------------------------------------- backpressure */

static void test_backpressure(void) {
    enum { PUSHES = 400 };
    static rtm_listener l;
    static rec r;
    static uint8_t in[PUSHES * 128], seen[PUSHES + 1];
    static uint8_t tx[PUSHES * 17 + 64];
    size_t n = 0, off = 0, txlen = 0, partial = 0, stalls = 0, i, k, errors = 0;
    uint32_t seqs[PUSHES + 8];
    int stuck = 0;
    check_group("backpressure");
    CHECK_ST(setup(&l, &r, 1, 0), RTM_OK);
    for (i = 0; i < PUSHES; i++) {
        k = push_text(in + n, sizeof in - n, (uint32_t)(i + 1), TO_GROUP, FROM, GID, 10000 + (int64_t)i, 30,
                      "backpressure!", "", MTIME);
        CHECK(k > 0);
        n += k;
    }
    /* feed everything without taking transmit bytes until the listener stops accepting */
    while (off < n) {
        size_t c = 0;
        rtm_status st = rtm_listener_receive(&l, 1, in + off, n - off, &c);
        if (st != RTM_OK) {
            CHECK_ST(st, RTM_OK);
            break;
        }
        if (c < n - off) partial++;
        off += c;
        if (c == 0) {
            /* full: now send (all of it, in two partial writes) and retry */
            const uint8_t *d;
            size_t len = 0, half;
            stalls++;
            CHECK_ST(rtm_listener_transmit(&l, &d, &len), RTM_OK);
            if (len == 0) {
                stuck = 1;
                break;
            }
            half = len / 2;
            memcpy(tx + txlen, d, half);
            txlen += half;
            CHECK_ST(rtm_listener_transmit_done(&l, half), RTM_OK);
            CHECK_ST(rtm_listener_transmit(&l, &d, &len), RTM_OK);
            memcpy(tx + txlen, d, len);
            txlen += len;
            CHECK_ST(rtm_listener_transmit_done(&l, len), RTM_OK);
        }
    }
    CHECK(!stuck);
    drain(&l, tx, sizeof tx, &txlen);
    CHECK(partial > 0); /* consumed < len happened */
    CHECK(stalls > 0);  /* and the listener stopped until transmit was drained */
    CHECK_EQ(off, n);
    CHECK_EQ(r.counts[CB_GROUP_CHAT], PUSHES);
    CHECK_EQ(answers(tx, txlen, seqs, PUSHES + 8, &errors), PUSHES);
    CHECK_EQ(errors, 0);
    memset(seen, 0, sizeof seen);
    for (i = 0; i < PUSHES; i++)
        if (seqs[i] >= 1 && seqs[i] <= PUSHES) seen[seqs[i]]++;
    for (i = 1, k = 0; i <= PUSHES; i++) k += seen[i] == 1;
    CHECK_EQ(k, PUSHES); /* every push answered exactly once */
    /* delivered in order */
    for (i = 1, k = 0; i < r.norder && i < REC_LOG; i++) k += r.mids[i] == r.mids[i - 1] + 1;
    CHECK_EQ(k, (r.norder < REC_LOG ? r.norder : REC_LOG) - 2);
    rtm_listener_deinit(&l);
}

/* ---------------------------------------------------------------- push mode */

/* A transport for rtm_config.transport: takes at most `per_call` bytes a call into `buf`, and
 * tries to call into the listener from inside send (which must be refused). */
typedef struct {
    uint8_t buf[400 * 17 + 64];
    size_t len, per_call, calls;
    rtm_listener *l;
    rtm_status reentry;
} wire;

static size_t wire_send(void *user, const uint8_t *data, size_t len) {
    wire *w = (wire *)user;
    size_t n = len < w->per_call ? len : w->per_call;
    w->calls++;
    w->reentry = rtm_listener_handle_timeout(w->l, 1);
    if (n > sizeof w->buf - w->len) n = sizeof w->buf - w->len;
    memcpy(w->buf + w->len, data, n);
    w->len += n;
    return n;
}

static void test_push_mode(void) {
    enum { PUSHES = 400 };
    static rtm_listener l;
    static rec r;
    static uint8_t in[PUSHES * 128], seen[PUSHES + 1];
    static wire w;
    static const size_t per_call[] = {(size_t)-1, 7, 0};
    uint32_t seqs[PUSHES + 8];
    size_t n = 0, i, k, t, errors, used;
    check_group("push mode (rtm_config.transport)");
    for (i = 0; i < PUSHES; i++) {
        k = push_text(in + n, sizeof in - n, (uint32_t)(i + 1), TO_GROUP, FROM, GID, 20000 + (int64_t)i, 30,
                      "push mode", "", MTIME);
        CHECK(k > 0);
        n += k;
    }
    for (t = 0; t < sizeof per_call / sizeof per_call[0]; t++) {
        rtm_config c;
        memset(&r, 0, sizeof r);
        memset(&w, 0, sizeof w);
        w.per_call = per_call[t];
        w.l = &l;
        c = config(1, "sim-secret", rec_monitor(&r));
        c.tx_size = rtm_min_tx_size();
        c.transport.send = wire_send;
        c.transport.user = &w;
        CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
        rtm_listener_set_unix_time(&l, 0, 1700000000000LL);
        CHECK_ST(rtm_listener_connected(&l, 0, S("127.0.0.1:13321")), RTM_OK);
        used = 0;
        CHECK_ST(rtm_listener_receive(&l, 1, in, n, &used), RTM_OK);
        if (per_call[t] == 0) {
            /* The transport would block: what fits waits; pull mode takes over. */
            size_t off = used, txlen = 0;
            static uint8_t tx[PUSHES * 17 + 64];
            CHECK(used < n);
            CHECK(w.calls > 0);
            CHECK_EQ(w.len, 0);
            while (off < n) {
                size_t c2 = 0;
                CHECK(drain(&l, tx, sizeof tx, &txlen) > 0);
                CHECK_ST(rtm_listener_receive(&l, 1, in + off, n - off, &c2), RTM_OK);
                off += c2;
            }
            drain(&l, tx, sizeof tx, &txlen);
            memcpy(w.buf, tx, txlen);
            w.len = txlen;
        } else {
            /* One call takes every push: the answers went out from inside it. */
            const uint8_t *d;
            size_t left = 1;
            CHECK_EQ(used, n);
            CHECK_ST(rtm_listener_transmit(&l, &d, &left), RTM_OK);
            CHECK_EQ(left, 0);
        }
        CHECK_ST(w.reentry, RTM_ERR_BUSY);
        CHECK_EQ(r.counts[CB_GROUP_CHAT], PUSHES);
        errors = 0;
        CHECK_EQ(answers(w.buf, w.len, seqs, PUSHES + 8, &errors), PUSHES);
        CHECK_EQ(errors, 0);
        memset(seen, 0, sizeof seen);
        for (i = 0; i < PUSHES; i++)
            if (seqs[i] >= 1 && seqs[i] <= PUSHES) seen[seqs[i]]++;
        for (i = 1, k = 0; i <= PUSHES; i++) k += seen[i] == 1;
        CHECK_EQ(k, PUSHES); /* every push answered exactly once */
        for (i = 1, k = 0; i < PUSHES; i++) k += seqs[i] == seqs[i - 1] + 1;
        CHECK_EQ(k, PUSHES - 1); /* in order */
        rtm_listener_deinit(&l);
    }
}

/* ---------------------------------------------------------------- reasons */

static rtm_close_reason mk_reason(rtm_reason_kind kind, rtm_io_kind io, int32_t err, rtm_protocol_error proto,
                                  uint8_t byte, uint64_t len, uint64_t max) {
    rtm_close_reason r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.io_kind = io;
    r.os_error = err;
    r.protocol = proto;
    r.protocol_byte = byte;
    r.frame_len = len;
    r.frame_max = max;
    return r;
}

static rtm_close_reason key_exchange_reason(int64_t code) {
    rtm_close_reason r = mk_reason(RTM_REASON_KEY_EXCHANGE, 0, 0, 0, 0, 0, 0);
    r.code = code;
    return r;
}

static int same_reason(const rtm_close_reason *a, const rtm_close_reason *b) {
    return a->kind == b->kind && a->io_kind == b->io_kind && a->os_error == b->os_error &&
           a->protocol == b->protocol && a->protocol_byte == b->protocol_byte && a->frame_len == b->frame_len &&
           a->frame_max == b->frame_max && a->code == b->code;
}

static void test_reasons(void) {
    enum { N = 21 };
    static rtm_listener l;
    static rec r;
    rtm_close_reason reasons[N], bad[7];
    rtm_config c;
    size_t i, n = 0;
    uint64_t t = 1000, at = 0;
    char ep[32];
    rtm_io_kind io;
    check_group("close reasons: every class through connect_failed and closed");
    reasons[n++] = mk_reason(RTM_REASON_PEER_CLOSED, 0, 0, 0, 0, 0, 0);
    reasons[n++] = mk_reason(RTM_REASON_HOST, 0, 0, 0, 0, 0, 0);
    reasons[n++] = mk_reason(RTM_REASON_DEAD_LINK, 0, 0, 0, 0, 0, 0);
    for (io = RTM_IO_CONNECTION_REFUSED; io <= RTM_IO_OTHER; io++) reasons[n++] = mk_reason(RTM_REASON_IO, io, (int32_t)(100 + io), 0, 0, 0, 0);
    reasons[n++] = mk_reason(RTM_REASON_PROTOCOL, 0, 0, RTM_PROTOCOL_BAD_MAGIC, 0, 0, 0);
    reasons[n++] = mk_reason(RTM_REASON_PROTOCOL, 0, 0, RTM_PROTOCOL_BAD_FLAG, 0x41, 0, 0);
    reasons[n++] = mk_reason(RTM_REASON_PROTOCOL, 0, 0, RTM_PROTOCOL_BAD_MTYPE, 7, 0, 0);
    reasons[n++] = mk_reason(RTM_REASON_PROTOCOL, 0, 0, RTM_PROTOCOL_EMPTY_METHOD, 0, 0, 0);
    reasons[n++] = mk_reason(RTM_REASON_PROTOCOL, 0, 0, RTM_PROTOCOL_TOO_LARGE, 0, 9u << 20, 8u << 20);
    reasons[n++] = mk_reason(RTM_REASON_PROTOCOL, 0, 0, RTM_PROTOCOL_PAYLOAD_NOT_MAP, 0, 0, 0);
    reasons[n++] = mk_reason(RTM_REASON_PROTOCOL, 0, 0, RTM_PROTOCOL_BAD_PACKAGE, 0, 0, 0);
    reasons[n++] = key_exchange_reason(20003);
    reasons[n++] = key_exchange_reason(200001);
    CHECK_EQ(n, N);
    memset(&r, 0, sizeof r);
    c = config(1, "s", rec_monitor(&r));
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
    for (i = 0; i < N; i++) {
        long failed = r.counts[CB_CONNECT_FAILED], closed = r.counts[CB_CLOSED], disc = r.counts[CB_DISCONNECTED];
        const char *text = rtm_close_reason_str(&reasons[i]);
        CHECK(text != NULL && strcmp(text, "invalid close reason") != 0);
        /* a failed attempt: connected(ep, false, ..), then disconnected(ep, reason, retry) */
        snprintf(ep, sizeof ep, "gw-%u.example:13321", (unsigned)i);
        t += 10;
        CHECK_ST(rtm_listener_connect_failed(&l, t, S(ep), &reasons[i]), RTM_OK);
        CHECK_EQ(r.counts[CB_CONNECT_FAILED], failed + 1);
        CHECK_EQ(r.counts[CB_DISCONNECTED], disc + 1);
        CHECK_EQ(r.disc_after, CB_CONNECT_FAILED);
        CHECK_MEM(r.endpoint.b, r.endpoint.n, ep, strlen(ep)); /* the endpoint tried, not "" */
        CHECK_MEM(r.disc_endpoint.b, r.disc_endpoint.n, ep, strlen(ep));
        CHECK(same_reason(&r.disc_reason, &reasons[i]));
        CHECK_ST(rtm_listener_reconnect_at(&l, &at), RTM_OK);
        CHECK_EQ(at, t + r.disc_retry);
        /* a connection that closes: closed(ep, causedByError, ..), then disconnected */
        snprintf(ep, sizeof ep, "up-%u.example:13321", (unsigned)i);
        t += 10;
        CHECK_ST(rtm_listener_connected(&l, t, S(ep)), RTM_OK);
        t += 10;
        CHECK_ST(rtm_listener_closed(&l, t, &reasons[i]), RTM_OK);
        CHECK_EQ(r.counts[CB_CLOSED], closed + 1);
        CHECK_EQ(r.counts[CB_DISCONNECTED], disc + 2);
        CHECK_EQ(r.disc_after, CB_CLOSED);
        CHECK_EQ(r.closed_by_error, rtm_close_reason_is_error(&reasons[i]));
        CHECK_EQ(r.closed_by_error, reasons[i].kind != RTM_REASON_PEER_CLOSED && reasons[i].kind != RTM_REASON_HOST);
        CHECK_MEM(r.endpoint.b, r.endpoint.n, ep, strlen(ep));
        CHECK_MEM(r.disc_endpoint.b, r.disc_endpoint.n, ep, strlen(ep));
        CHECK(same_reason(&r.disc_reason, &reasons[i]));
        CHECK_ST(rtm_listener_reconnect_at(&l, &at), RTM_OK);
        CHECK_EQ(at, t + r.disc_retry);
    }
    {
        rtm_stats st;
        CHECK_ST(rtm_listener_stats(&l, &st), RTM_OK);
        CHECK_EQ(st.connect_failures, N);
        CHECK_EQ(st.connections, N);
    }
    /* the back-off grows with consecutive failures (short connections do not reset it) */
    CHECK(r.disc_retry > 0);
    /* invalid reasons are refused before anything happens */
    bad[0] = mk_reason(0, 0, 0, 0, 0, 0, 0);
    bad[1] = mk_reason(RTM_REASON_WK_PROTOCOL + 1, 0, 0, 0, 0, 0, 0); /* the first kind after the last */
    bad[2] = mk_reason(RTM_REASON_IO, 0, 0, 0, 0, 0, 0);
    bad[3] = mk_reason(RTM_REASON_IO, 10, 0, 0, 0, 0, 0);
    bad[4] = mk_reason(RTM_REASON_PROTOCOL, 0, 0, 0, 0, 0, 0);
    bad[5] = mk_reason(RTM_REASON_PROTOCOL, 0, 0, RTM_PROTOCOL_OTHER, 0, 0, 0); /* only the library's own */
    bad[6] = mk_reason(RTM_REASON_PROTOCOL, 0, 0, 99, 0, 0, 0);
    CHECK_ST(rtm_listener_connected(&l, t, S("up")), RTM_OK);
    for (i = 0; i < 7; i++) {
        long before = r.norder;
        CHECK(strcmp(rtm_close_reason_str(&bad[i]), "invalid close reason") == 0 || bad[i].kind == RTM_REASON_PROTOCOL);
        CHECK_ST(rtm_listener_connect_failed(&l, t, S("x"), &bad[i]), RTM_ERR_INVALID_ARG);
        CHECK_ST(rtm_listener_closed(&l, t, &bad[i]), RTM_ERR_INVALID_ARG);
        CHECK_EQ(r.norder, before);
    }
    /* still connected after the refused closes */
    CHECK_ST(rtm_listener_reconnect_at(&l, &at), RTM_NONE);

    /* the listener's own reasons come back through close_reason and are passed on as is */
    {
        uint8_t hdr[16];
        size_t consumed = 0;
        rtm_close_reason why;
        /* a frame announcing 9 MiB: over the 8 MiB limit */
        memcpy(hdr, "FPNN", 4);
        hdr[4] = 1, hdr[5] = 0x80, hdr[6] = 1, hdr[7] = 4;
        le32(hdr + 8, 9u << 20);
        le32(hdr + 12, 5);
        CHECK_ST(rtm_listener_receive(&l, t, hdr, 16, &consumed), RTM_CLOSE);
        CHECK_ST(rtm_listener_close_reason(&l, &why), RTM_OK);
        CHECK_EQ(why.kind, RTM_REASON_PROTOCOL);
        CHECK_EQ(why.protocol, RTM_PROTOCOL_TOO_LARGE);
        CHECK_EQ(why.frame_len, 16 + 4 + (9u << 20)); /* header, method, payload */
        CHECK(why.frame_max > 0 && why.frame_max < why.frame_len);
        CHECK_ST(rtm_listener_closed(&l, t, &why), RTM_OK);
        CHECK(same_reason(&r.disc_reason, &why));
        CHECK(r.closed_by_error);
        /* a bad mtype byte */
        CHECK_ST(rtm_listener_connected(&l, t, S("up")), RTM_OK);
        hdr[6] = 7;
        CHECK_ST(rtm_listener_receive(&l, t, hdr, 16, &consumed), RTM_CLOSE);
        CHECK_ST(rtm_listener_close_reason(&l, &why), RTM_OK);
        CHECK_EQ(why.protocol, RTM_PROTOCOL_BAD_MTYPE);
        CHECK_EQ(why.protocol_byte, 7);
        CHECK_ST(rtm_listener_closed(&l, t, R_HOST), RTM_OK); /* the host may give its own */
        CHECK_EQ(r.disc_reason.kind, RTM_REASON_HOST);
        CHECK(!r.closed_by_error);
    }
    /* connected() while connected closes the old connection first, reported with its endpoint */
    {
        long closed = r.counts[CB_CLOSED];
        CHECK_ST(rtm_listener_connected(&l, t, S("first")), RTM_OK);
        CHECK_ST(rtm_listener_connected(&l, t + 1, S("second")), RTM_OK);
        CHECK_EQ(r.counts[CB_CLOSED], closed + 1);
        CHECK_SB(r.disc_endpoint, "first");
        CHECK_EQ(r.disc_reason.kind, RTM_REASON_HOST);
        CHECK_SB(r.endpoint, "second");
    }
    CHECK_EQ(r.null_ptrs, 0);
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
}

/* ---------------------------------------------------------------- FPNN encryption */

/* Entropy for the tests that need none from the system (the gate sessions read /dev/urandom). */
static uint8_t g_entropy[RTM_MIN_ENTROPY];

static rtm_encryption enc_of(const void *key, size_t len, rtm_key_format format, const char *curve) {
    rtm_encryption e;
    size_t i;
    for (i = 0; i < sizeof g_entropy; i++) g_entropy[i] = (uint8_t)(0xa5 ^ (i * 7));
    memset(&e, 0, sizeof e);
    e.server_key = (const uint8_t *)key;
    e.server_key_len = len;
    e.format = format;
    e.curve = curve;
    e.entropy = g_entropy;
    e.entropy_len = sizeof g_entropy;
    return e;
}

static int all_zero(const void *p, size_t n) {
    const uint8_t *b = (const uint8_t *)p;
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

/* Every form of the server key is taken; every refusal has its own status and changes
 * nothing: rtm_encryption_check, rtm_listener_init (the storage is left as it was, zero bytes
 * or a live listener) and rtm_listener_set_encryption (the listener stays plaintext). */
static void test_encryption_settings(void) {
    static rtm_listener fresh, live;
    static uint8_t off_curve[64], prefixed[65], not_uncompressed[65], bad_der[sizeof K1_DER];
    static const char bad_pem[] = "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n";
    struct bad_case {
        const char *what;
        rtm_encryption e;
        rtm_status want;
    } bad[24];
    rtm_encryption ok[9], e;
    rtm_config c;
    rec r;
    size_t i, n = 0, nok = 0, len = 0;
    const uint8_t *data = NULL;
    rtm_stats st;
    check_group("FPNN encryption settings: every form, every refusal with its own code");
    memcpy(off_curve, K1_RAW, 64);
    off_curve[63] ^= 1;
    prefixed[0] = 0x04;
    memcpy(prefixed + 1, K1_RAW, 64);
    not_uncompressed[0] = 0x05;
    memcpy(not_uncompressed + 1, K1_RAW, 64);
    memcpy(bad_der, K1_DER, sizeof K1_DER);
    bad_der[1] ^= 0x10;

    ok[nok++] = enc_of(K1_PEM, strlen(K1_PEM), RTM_KEY_AUTO, NULL);
    ok[nok++] = enc_of(K1_PEM, strlen(K1_PEM), RTM_KEY_PEM, "secp256k1");
    ok[nok++] = enc_of(K1_DER, sizeof K1_DER, RTM_KEY_AUTO, NULL);
    ok[nok++] = enc_of(K1_DER, sizeof K1_DER, RTM_KEY_DER, "SECP256K1");
    ok[nok++] = enc_of(K1_RAW, sizeof K1_RAW, RTM_KEY_AUTO, "secp256k1");
    ok[nok++] = enc_of(K1_RAW, sizeof K1_RAW, RTM_KEY_RAW, "secp256k1");
    ok[nok++] = enc_of(prefixed, sizeof prefixed, RTM_KEY_RAW, "secp256k1");
    ok[nok++] = enc_of(R1_PEM, strlen(R1_PEM), RTM_KEY_AUTO, "prime256v1");
    ok[nok++] = enc_of(R1_PEM, strlen(R1_PEM), RTM_KEY_PEM, "P-256");
    for (i = 0; i < nok; i++) {
        CHECK_ST(rtm_encryption_check(&ok[i]), RTM_OK);
        ok[i].stream_mode = true;
        ok[i].aes256 = true;
        CHECK_ST(rtm_encryption_check(&ok[i]), RTM_OK);
    }

#define BAD(w, enc, st) (bad[n].what = (w), bad[n].e = (enc), bad[n].want = (st), n++)
    BAD("63 bytes", enc_of(K1_RAW, 63, RTM_KEY_RAW, "secp256k1"), RTM_ERR_KEY_WRONG_LENGTH);
    BAD("a secp224r1 length", enc_of(K1_RAW, 56, RTM_KEY_RAW, "secp256k1"), RTM_ERR_KEY_WRONG_LENGTH);
    BAD("65 bytes, 0x05", enc_of(not_uncompressed, 65, RTM_KEY_RAW, "secp256k1"), RTM_ERR_KEY_NOT_UNCOMPRESSED);
    BAD("off the curve", enc_of(off_curve, 64, RTM_KEY_AUTO, "secp256k1"), RTM_ERR_KEY_NOT_ON_CURVE);
    BAD("another curve's point", enc_of(K1_RAW, 64, RTM_KEY_RAW, "secp256r1"), RTM_ERR_KEY_NOT_ON_CURVE);
    BAD("Ed25519", enc_of(ED25519_DER, sizeof ED25519_DER, RTM_KEY_AUTO, NULL), RTM_ERR_KEY_NOT_EC);
    BAD("secp384r1", enc_of(P384_DER, sizeof P384_DER, RTM_KEY_DER, NULL), RTM_ERR_KEY_UNKNOWN_CURVE);
    BAD("bad base64", enc_of(bad_pem, strlen(bad_pem), RTM_KEY_AUTO, NULL), RTM_ERR_KEY_BAD_PEM);
    BAD("DER as PEM", enc_of(K1_DER, sizeof K1_DER, RTM_KEY_PEM, NULL), RTM_ERR_KEY_BAD_PEM);
    BAD("200 bytes of PEM", enc_of(LONG_PEM, strlen(LONG_PEM), RTM_KEY_AUTO, NULL), RTM_ERR_KEY_TOO_LONG);
    BAD("a broken DER length", enc_of(bad_der, sizeof bad_der, RTM_KEY_AUTO, NULL), RTM_ERR_KEY_BAD_DER);
    BAD("raw as DER", enc_of(K1_RAW, 64, RTM_KEY_DER, NULL), RTM_ERR_KEY_BAD_DER);
    BAD("raw, no curve", enc_of(K1_RAW, 64, RTM_KEY_AUTO, NULL), RTM_ERR_KEY_NEEDS_CURVE);
    BAD("RTM_KEY_RAW, no curve", enc_of(K1_RAW, 64, RTM_KEY_RAW, NULL), RTM_ERR_KEY_NEEDS_CURVE);
    BAD("a secp256r1 PEM named secp256k1", enc_of(R1_PEM, strlen(R1_PEM), RTM_KEY_AUTO, "secp256k1"),
        RTM_ERR_KEY_CURVE_MISMATCH);
    BAD("a secp256k1 DER named P-256", enc_of(K1_DER, sizeof K1_DER, RTM_KEY_DER, "P-256"), RTM_ERR_KEY_CURVE_MISMATCH);
    BAD("secp384r1 by name", enc_of(K1_RAW, 64, RTM_KEY_RAW, "secp384r1"), RTM_ERR_UNKNOWN_CURVE);
    BAD("an empty name", enc_of(K1_DER, sizeof K1_DER, RTM_KEY_AUTO, ""), RTM_ERR_UNKNOWN_CURVE);
    BAD("a format of 4", enc_of(K1_RAW, 64, 4, "secp256k1"), RTM_ERR_INVALID_ARG);
    e = enc_of(K1_DER, sizeof K1_DER, RTM_KEY_AUTO, NULL);
    e.entropy_len = RTM_MIN_ENTROPY - 1;
    BAD("31 bytes of entropy", e, RTM_ERR_SHORT_ENTROPY);
    e.entropy = NULL;
    e.entropy_len = 0;
    BAD("no entropy", e, RTM_ERR_SHORT_ENTROPY);
#undef BAD

    memset(&r, 0, sizeof r);
    c = config(1, "s", rec_monitor(&r));
    CHECK_ST(rtm_listener_init(&live, sizeof live, &c), RTM_OK);
    CHECK(all_zero(&fresh, sizeof fresh));
    for (i = 0; i < n; i++) {
        check_group(bad[i].what);
        CHECK_ST(rtm_encryption_check(&bad[i].e), bad[i].want);
        c.encryption = bad[i].e;
        CHECK_ST(rtm_listener_init(&fresh, sizeof fresh, &c), bad[i].want);
        CHECK(all_zero(&fresh, sizeof fresh)); /* nothing written */
        CHECK_ST(rtm_listener_init(&live, sizeof live, &c), bad[i].want);
        CHECK_ST(rtm_listener_set_encryption(&live, &bad[i].e), bad[i].want);
    }
    check_group("FPNN encryption settings: refusals change nothing");
    /* the live listener is still the plaintext one: connecting sends nothing (no *key) */
    CHECK_ST(rtm_listener_connected(&live, 0, S("gw")), RTM_OK);
    CHECK_ST(rtm_listener_transmit(&live, &data, &len), RTM_OK);
    CHECK_EQ(len, 0);
    CHECK_ST(rtm_listener_stats(&live, &st), RTM_OK);
    CHECK_EQ(st.connections, 1);
    CHECK_EQ(st.key_exchanges + st.key_exchange_failures, 0);
    CHECK_ST(rtm_listener_deinit(&live), RTM_OK);
    /* a good setting at init builds an encrypting listener in the fresh storage */
    c.encryption = ok[0];
    CHECK_ST(rtm_listener_init(&fresh, sizeof fresh, &c), RTM_OK);
    CHECK(!all_zero(&fresh, sizeof fresh));
    CHECK_ST(rtm_listener_deinit(&fresh), RTM_OK);
    CHECK_EQ(r.null_ptrs, 0);
}

/* The first frame of tx is the plaintext *key quest (twoway), and it is the only one. */
static int is_key_quest(const uint8_t *tx, size_t len) {
    fpnn_frame f;
    return fpnn_parse(tx, len, &f) && f.mtype == 1 && fpnn_is(&f, "*key") && f.total == len;
}

/* The key exchange through the C ABI: the *key quest goes first, a fresh one per connection;
 * no answer within the quest timeout closes with RTM_REASON_KEY_EXCHANGE and code 20003; a
 * zero package length in package mode is RTM_PROTOCOL_BAD_PACKAGE; NULL turns encryption off
 * for the next connection; the counters. */
static void test_key_exchange(void) {
    static rtm_listener l;
    static rec r;
    static uint8_t tx[2][512];
    size_t txlen[2] = {0, 0}, consumed = 0, k;
    rtm_encryption e = enc_of(K1_PEM, strlen(K1_PEM), RTM_KEY_AUTO, NULL);
    rtm_config c;
    rtm_close_reason why;
    rtm_stats st;
    uint64_t at = 0;
    static const uint8_t zero_package[4] = {0, 0, 0, 0};
    uint8_t more[40];
    check_group("FPNN key exchange through the C ABI");
    memset(&r, 0, sizeof r);
    c = config(1, "s", rec_monitor(&r));
    c.quest_timeout_ms = 5000;
    c.encryption = e;
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
    for (k = 0; k < sizeof more; k++) more[k] = (uint8_t)k;
    CHECK_ST(rtm_listener_add_entropy(&l, more, sizeof more), RTM_OK);
    /* 1: no answer to *key */
    CHECK_ST(rtm_listener_connected(&l, 1000, S("gw:1")), RTM_OK);
    drain(&l, tx[0], sizeof tx[0], &txlen[0]);
    CHECK(is_key_quest(tx[0], txlen[0]));
    CHECK_ST(rtm_listener_next_timeout(&l, &at), RTM_OK);
    CHECK(at <= 1000 + 5000);
    CHECK_ST(rtm_listener_handle_timeout(&l, 1000 + 5000), RTM_CLOSE);
    CHECK_ST(rtm_listener_close_reason(&l, &why), RTM_OK);
    CHECK_EQ(why.kind, RTM_REASON_KEY_EXCHANGE);
    CHECK_EQ(why.code, 20003);
    CHECK(rtm_close_reason_is_error(&why));
    CHECK(strcmp(rtm_close_reason_str(&why), "the key exchange failed") == 0);
    CHECK_ST(rtm_listener_closed(&l, 6001, &why), RTM_OK);
    CHECK(same_reason(&r.disc_reason, &why));
    CHECK(r.closed_by_error);
    /* 2: a fresh key; a zero package length after it */
    CHECK_ST(rtm_listener_connected(&l, 7000, S("gw:1")), RTM_OK);
    drain(&l, tx[1], sizeof tx[1], &txlen[1]);
    CHECK(is_key_quest(tx[1], txlen[1]));
    CHECK(txlen[0] == txlen[1] && memcmp(tx[0] + 16, tx[1] + 16, txlen[0] - 16) != 0);
    CHECK_ST(rtm_listener_receive(&l, 7001, zero_package, 4, &consumed), RTM_CLOSE);
    CHECK_ST(rtm_listener_close_reason(&l, &why), RTM_OK);
    CHECK_EQ(why.kind, RTM_REASON_PROTOCOL);
    CHECK_EQ(why.protocol, RTM_PROTOCOL_BAD_PACKAGE);
    CHECK(strcmp(rtm_close_reason_str(&why), "protocol error: bad encrypted package") == 0);
    CHECK_ST(rtm_listener_closed(&l, 7002, &why), RTM_OK);
    CHECK(same_reason(&r.disc_reason, &why));
    /* 3: off: a plaintext connection sends nothing */
    CHECK_ST(rtm_listener_set_encryption(&l, NULL), RTM_OK);
    CHECK_ST(rtm_listener_connected(&l, 8000, S("gw:1")), RTM_OK);
    txlen[0] = 0;
    drain(&l, tx[0], sizeof tx[0], &txlen[0]);
    CHECK_EQ(txlen[0], 0);
    CHECK_ST(rtm_listener_closed(&l, 8001, R_HOST), RTM_OK);
    /* 4: on again, stream mode with AES-256: *key again */
    e.stream_mode = true;
    e.aes256 = true;
    CHECK_ST(rtm_listener_set_encryption(&l, &e), RTM_OK);
    CHECK_ST(rtm_listener_connected(&l, 9000, S("gw:1")), RTM_OK);
    txlen[0] = 0;
    drain(&l, tx[0], sizeof tx[0], &txlen[0]);
    CHECK(is_key_quest(tx[0], txlen[0]));
    CHECK_ST(rtm_listener_closed(&l, 9001, R_PEER), RTM_OK);
    CHECK_ST(rtm_listener_stats(&l, &st), RTM_OK);
    CHECK_EQ(st.connections, 4);
    CHECK_EQ(st.key_exchanges, 0);
    CHECK_EQ(st.key_exchange_failures, 3); /* unanswered, broken, closed before the answer */
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
    CHECK_EQ(r.null_ptrs, 0);
}

/* ---------------------------------------------------------------- buffer sizes */

/* ---------------------------------------------------------------- init stack */

#ifdef RTM_TEST_INIT_STACK
/* The most stack rtm_listener_init may use on x86-64, measured from the frame of the function
 * that calls it (its return address, its frame and everything it calls: memset, memcpy).
 * The listener's state (rtm_listener_state_size(), about 5 KiB) must not pass through the
 * stack: the engine's bytes are zeroed in place (an unconfigured listener), its buffers set
 * (Listener::set_buffers) and it is configured in place, about 0.6 KiB in all. */
#define INIT_STACK_MAX 1024
/* The same with FPNN encryption set at init (rtm_config.encryption): parsing the key and
 * checking it is on its curve, stirring the entropy in. */
#define INIT_STACK_ENC_MAX 2048
enum { PAINTED_STACK = 256 * 1024 };
static RTM_ALIGNED(4096) unsigned char g_painted_stack[PAINTED_STACK];

struct init_probe {
    rtm_listener *l;
    size_t len;
    rtm_config cfg;
    rtm_status status;
    uintptr_t frame;
};

/* Through a volatile pointer: the call cannot be inlined into the probe's frame. */
static rtm_status (*volatile g_init)(rtm_listener *, size_t, const rtm_config *) = rtm_listener_init;

static void *init_on_painted_stack(void *arg) {
    struct init_probe *p = (struct init_probe *)arg;
    p->frame = (uintptr_t)__builtin_frame_address(0);
    p->status = g_init(p->l, p->len, &p->cfg);
    return NULL;
}

/* Runs rtm_listener_init on a thread whose stack is g_painted_stack, filled with `paint`
 * first; returns how deep the init went below the probe's frame (the lowest byte that no
 * longer holds the paint). */
static size_t init_stack_depth(struct init_probe *p, unsigned char paint) {
    pthread_attr_t attr;
    pthread_t t;
    size_t low = 0;
    memset(g_painted_stack, paint, sizeof g_painted_stack);
    CHECK(pthread_attr_init(&attr) == 0);
    CHECK(pthread_attr_setstack(&attr, g_painted_stack, sizeof g_painted_stack) == 0);
    if (pthread_create(&t, &attr, init_on_painted_stack, p) != 0) {
        CHECK(0);
        return 0;
    }
    CHECK(pthread_join(t, NULL) == 0);
    pthread_attr_destroy(&attr);
    while (low < sizeof g_painted_stack && g_painted_stack[low] == paint) low++;
    return (size_t)(p->frame - (uintptr_t)(g_painted_stack + low));
}

/* The stack rtm_listener_init needs, measured by painting: the listener is built in the
 * caller's storage, not assembled on the stack and copied. Two paints (a byte the init might
 * store at the deepest point would hide it under one of them); inline buffers and a lent
 * buffer; a first init and a re-init of a live listener. Skipped under valgrind (the painted
 * stack below the thread's stack pointer is "no access" there). */
static void test_init_stack(void) {
    static rtm_listener l;
    static uint8_t lent[RTM_BUFFER_SIZE(4096, 1024)];
    struct init_probe p;
    rtm_monitor m;
    const char *preload = getenv("LD_PRELOAD");
    size_t worst = 0, worst_enc = 0, d;
    int run, paint;
    check_group("init stack (x86-64, painted)");
    if (preload && strstr(preload, "vgpreload")) {
        printf("init stack: skipped under valgrind\n");
        return;
    }
    for (run = 0; run < 5; run++) {
        memset(&p, 0, sizeof p);
        p.l = &l;
        p.len = sizeof l;
        memset(&m, 0, sizeof m);
        p.cfg = config(80000071, "secret", m);
        if (run == 2) {
            p.cfg.buffer = lent;
            p.cfg.buffer_len = sizeof lent;
        }
        /* with FPNN encryption: the key parsed (and checked on its curve) twice, the entropy
         * stirred in */
        if (run == 3) p.cfg.encryption = enc_of(K1_PEM, strlen(K1_PEM), RTM_KEY_AUTO, NULL);
        if (run == 4) p.cfg.encryption = enc_of(K1_RAW, sizeof K1_RAW, RTM_KEY_RAW, "secp256k1");
        for (paint = 0; paint < 2; paint++) {
            d = init_stack_depth(&p, paint ? 0x5a : 0xa5);
            CHECK_ST(p.status, RTM_OK);
            if (run < 3 && d > worst) worst = d;
            if (run >= 3 && d > worst_enc) worst_enc = d;
        }
    }
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
    printf("init stack: %lu bytes (bound %d); with a server key: %lu bytes (bound %d)\n", (unsigned long)worst,
           INIT_STACK_MAX, (unsigned long)worst_enc, INIT_STACK_ENC_MAX);
    CHECK(worst > 0 && worst <= INIT_STACK_MAX);
    CHECK(worst_enc > 0 && worst_enc <= INIT_STACK_ENC_MAX);
}
#endif

#define BIG_TEXT (60 * 1024)

static void test_buffers(void) {
    static RTM_ALIGNED(RTM_LISTENER_ALIGN) uint64_t state_only[RTM_LISTENER_STATE_STORAGE / 8];
    static uint8_t big[RTM_BUFFER_SIZE(65536, 4096)];
    static rtm_listener l;
    static rec r;
    static char text[BIG_TEXT + 1];
    static uint8_t in[2 * BIG_TEXT], tx[8192];
    rtm_listener *lent = (rtm_listener *)(void *)state_only;
    rtm_config c;
    size_t i, n, big_len, txlen = 0, errors = 0;
    uint32_t seqs[8];
    rtm_stats st;
    check_group("buffer sizes chosen at init");
    for (i = 0; i < BIG_TEXT; i++) text[i] = (char)('a' + i % 26);
    text[BIG_TEXT] = 0;
    memset(&r, 0, sizeof r);
    c = config(1, "s", rec_monitor(&r));

    /* too small, or not fitting: RTM_ERR_BUFFER_TOO_SMALL, nothing built */
    CHECK(rtm_min_tx_size() >= 160 && rtm_min_tx_size() <= 1024);
    c.buffer = big;
    c.buffer_len = sizeof big;
    c.rx_size = RTM_MIN_RX_SIZE - 1;
    c.tx_size = 4096;
    CHECK_ST(rtm_listener_init(lent, rtm_listener_state_size(), &c), RTM_ERR_BUFFER_TOO_SMALL);
    c.rx_size = 65536;
    c.tx_size = rtm_min_tx_size() - 1;
    CHECK_ST(rtm_listener_init(lent, rtm_listener_state_size(), &c), RTM_ERR_BUFFER_TOO_SMALL);
    c.tx_size = 4096;
    c.buffer_len = RTM_BUFFER_SIZE(65536, 4096) - 1;
    CHECK_ST(rtm_listener_init(lent, rtm_listener_state_size(), &c), RTM_ERR_BUFFER_TOO_SMALL);
    c.rx_size = SIZE_MAX / 2 + 1; /* 2 * rx overflows */
    c.buffer_len = SIZE_MAX;
    CHECK_ST(rtm_listener_init(lent, rtm_listener_state_size(), &c), RTM_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(rtm_buffer_size(SIZE_MAX / 2 + 1, 0), SIZE_MAX);
    CHECK_ST(rtm_listener_handle_timeout(lent, 0), RTM_ERR_UNINIT);
    c.buffer = NULL; /* a length without a buffer */
    c.buffer_len = 16;
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_ERR_NULL);
    c.buffer_len = 0; /* inline: the sizes must fit RTM_INLINE_BUFFER */
    c.rx_size = 8192;
    c.tx_size = 1024;
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_ERR_BUFFER_TOO_SMALL);
    c.rx_size = 2048;
    c.tx_size = RTM_INLINE_BUFFER - 2 * 2048;
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
    /* lent: the storage needs only the state */
    c.buffer = big;
    c.buffer_len = sizeof big;
    c.rx_size = 65536;
    c.tx_size = 4096;
    CHECK(rtm_listener_state_size() <= sizeof state_only);
    CHECK_ST(rtm_listener_init(lent, rtm_listener_state_size() - 1, &c), RTM_ERR_STORAGE);
    CHECK_ST(rtm_listener_init(lent, rtm_listener_state_size(), &c), RTM_OK);

    /* a 64 KiB receive buffer takes a 60 KiB push whole */
    CHECK_ST(rtm_listener_connected(lent, 0, S("big")), RTM_OK);
    big_len = push_text(in, sizeof in, 1, TO_P2P, FROM, UID, 7001, 30, text, "", MTIME);
    CHECK(big_len > BIG_TEXT && big_len < 65536);
    n = big_len + push_text(in + big_len, sizeof in - big_len, 2, TO_P2P, FROM, UID, 7002, 30, "next", "", MTIME);
    CHECK_ST(feed(lent, 1, in, n, tx, sizeof tx, &txlen), RTM_OK);
    CHECK_EQ(r.counts[CB_P2P_CHAT], 2);
    CHECK_EQ(r.counts[CB_BAD_PUSH], 0);
    CHECK(r.norder >= 3 && r.mids[r.norder - 2] == 7001 && r.mids[r.norder - 1] == 7002);
    CHECK_EQ(answers(tx, txlen, seqs, 8, &errors), 2);
    CHECK_EQ(errors, 0);
    /* (the last chat is "next"; the 60 KiB one was checked by the hash kept before it) */
    CHECK_ST(rtm_listener_stats(lent, &st), RTM_OK);
    CHECK_EQ(st.pushes, 2);
    CHECK_EQ(st.oversized, 0);
    CHECK_ST(rtm_listener_deinit(lent), RTM_OK);
    /* again, to look at the big one: its message arrives whole */
    memset(&r, 0, sizeof r);
    CHECK_ST(rtm_listener_init(lent, rtm_listener_state_size(), &c), RTM_OK);
    CHECK_ST(rtm_listener_connected(lent, 0, S("big")), RTM_OK);
    txlen = 0;
    CHECK_ST(feed(lent, 1, in, big_len, tx, sizeof tx, &txlen), RTM_OK);
    CHECK_EQ(r.counts[CB_P2P_CHAT], 1);
    CHECK_EQ(r.last[CB_P2P_CHAT].message_len, BIG_TEXT);
    CHECK_EQ(r.last[CB_P2P_CHAT].message_hash, fnv1a(text, BIG_TEXT));
    CHECK_EQ(r.last[CB_P2P_CHAT].info_status, RTM_INFO_NONE); /* plain text: no translation */
    CHECK_ST(rtm_listener_deinit(lent), RTM_OK);

    /* the default 4 KiB receive buffer: the same push is skipped, reported with its seq and
     * length, answered with 10002; the next push is delivered */
    memset(&r, 0, sizeof r);
    c = config(1, "s", rec_monitor(&r));
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
    CHECK_ST(rtm_listener_connected(&l, 0, S("small")), RTM_OK);
    txlen = 0;
    CHECK_ST(feed(&l, 1, in, n, tx, sizeof tx, &txlen), RTM_OK);
    CHECK_EQ(r.counts[CB_BAD_PUSH], 1);
    CHECK_SB(r.bad_method, "pushmsg");
    CHECK_EQ(r.bad_code, 10002);
    CHECK(r.bad_twoway);
    CHECK_EQ(r.bad_seq, 1);
    CHECK_EQ(r.bad_len, big_len);
    CHECK_EQ(r.counts[CB_P2P_CHAT], 1);
    CHECK_EQ(r.last[CB_P2P_CHAT].mid, 7002);
    CHECK_SB(r.last[CB_P2P_CHAT].message, "next");
    CHECK_EQ(answers(tx, txlen, seqs, 8, &errors), 2);
    CHECK(seqs[0] == 1 && seqs[1] == 2);
    CHECK_EQ(errors, 1);
    /* a oneway one: reported (seq 0, not twoway), not answered */
    {
        size_t k = push_text(in, sizeof in, 0, TO_GROUP, FROM, GID, 7003, 30, text, "", MTIME);
        txlen = 0;
        CHECK_ST(feed(&l, 2, in, k, tx, sizeof tx, &txlen), RTM_OK);
        CHECK_EQ(r.counts[CB_BAD_PUSH], 2);
        CHECK(!r.bad_twoway);
        CHECK_EQ(r.bad_seq, 0);
        CHECK_EQ(r.bad_len, k);
        CHECK_EQ(answers(tx, txlen, NULL, 0, NULL), 0);
    }
    CHECK_ST(rtm_listener_stats(&l, &st), RTM_OK);
    CHECK_EQ(st.bad_pushes, 2);
    CHECK_EQ(st.oversized, 2);
    CHECK_EQ(st.pushes, 1);
    CHECK_EQ(st.connections, 1);
    CHECK_EQ(r.counts[CB_CLOSED], 0); /* the connection stays up */
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
}

/* ---------------------------------------------------------------- JSON info sizes */

/* Runs with the info parsed before the callback, and with `lazy_info` (rtm_message_info):
 * the same info either way. */
static void test_json_sizes(bool lazy) {
    static rtm_listener l;
    static rec r;
    static char src[6 * 60 + 1], tgt[6 * 60 + 1], src8[3 * 60 + 1], tgt8[3 * 60 + 1], json[1024];
    static char url[2049], url_esc[4200], file_json[4400], deep[256];
    static uint8_t buf[16384], tx[4096];
    size_t n = 0, txlen = 0, i;
    uint32_t seq = 1;
    check_group(lazy ? "JSON info, parsed when the callback asks (lazy_info): long escaped strings, the status"
                     : "JSON info: long escaped strings, and the info status");
    g_lazy_info = lazy;
    CHECK_ST(setup(&l, &r, 1, 0), RTM_OK);
    g_lazy_info = false;
    /* a translated chat of 60 + 60 CJK characters, \u-escaped (360 bytes unescaped in all) */
    cjk_escaped(src, src8, 60, 0);
    cjk_escaped(tgt, tgt8, 60, 1000); /* different characters */
    snprintf(json, sizeof json, "{\"source\":\"zh\",\"target\":\"ja\",\"sourceText\":\"%s\",\"targetText\":\"%s\"}", src,
             tgt);
    n += push_text(buf + n, sizeof buf - n, seq++, TO_GROUP, FROM, GID, 8001, 30, json, "", MTIME);
    CHECK_ST(feed(&l, 1, buf, n, tx, sizeof tx, &txlen), RTM_OK);
    {
        const msg_copy *m = &r.last[CB_GROUP_CHAT];
        CHECK_EQ(r.counts[CB_GROUP_CHAT], 1);
        CHECK_EQ(m->info_status, RTM_INFO_OK);
        CHECK_EQ(m->lazy, lazy);
        CHECK(m->accessor_agrees);
        CHECK(m->has_tr);
        CHECK_SB(m->src_lang, "zh");
        CHECK_SB(m->tgt_lang, "ja");
        CHECK_EQ(m->src_text_len, 180);
        CHECK_EQ(m->tgt_text_len, 180);
        CHECK_EQ(m->src_text_hash, fnv1a(src8, 180));
        CHECK_EQ(m->tgt_text_hash, fnv1a(tgt8, 180));
        CHECK_EQ(m->message_len, strlen(json)); /* the message stays as received */
    }
    /* a file whose URL is 2 KiB unescaped (every '/' escaped), with a long escaped custom */
    long_url(url, url_esc, 2048);
    CHECK(strlen(url_esc) > 3000);
    snprintf(file_json, sizeof file_json, "{\"url\":\"%s\",\"size\":123456,\"surl\":\"%s\"}", url_esc, "http:\\/\\/t");
    n = push_text(buf, sizeof buf, seq++, TO_ROOM, FROM, RID, 8002, 40, file_json,
                  "{\"rtm\":{\"type\":\"audiomsg\",\"lang\":\"zh\",\"duration\":7},\"custom\":\"a\\/b\"}", MTIME);
    CHECK(n < 4096); /* fits the default receive buffer */
    txlen = 0;
    CHECK_ST(feed(&l, 2, buf, n, tx, sizeof tx, &txlen), RTM_OK);
    {
        const msg_copy *m = &r.last[CB_ROOM_FILE];
        CHECK_EQ(r.counts[CB_ROOM_FILE], 1);
        CHECK_EQ(m->info_status, RTM_INFO_OK);
        CHECK_EQ(m->lazy, lazy);
        CHECK(m->accessor_agrees);
        CHECK(m->has_file);
        CHECK_EQ(m->url_len, 2048);
        CHECK_EQ(m->url_hash, fnv1a(url, 2048));
        CHECK_SB(m->surl, "http://t");
        CHECK_EQ(m->size, 123456);
        CHECK(m->audio);
        CHECK_SB(m->custom, "a/b");
    }
    /* the info status when there is no info, or it cannot be parsed (delivered as received) */
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = 0;
    snprintf(json, sizeof json, "{\"url\":\"u\",\"x\":%s}", deep);
    {
        struct {
            int mtype, cb;
            const char *msg;
            rtm_info_status want;
        } cases[7];
        cases[0].mtype = 30, cases[0].cb = CB_P2P_CHAT, cases[0].msg = "plain text", cases[0].want = RTM_INFO_NONE;
        cases[1].mtype = 30, cases[1].cb = CB_P2P_CHAT, cases[1].msg = "\"a JSON string\"", cases[1].want = RTM_INFO_NONE;
        cases[2].mtype = 30, cases[2].cb = CB_P2P_CHAT, cases[2].msg = "{\"source\":\"en\"", cases[2].want = RTM_INFO_SYNTAX;
        cases[3].mtype = 41, cases[3].cb = CB_P2P_FILE, cases[3].msg = "not json", cases[3].want = RTM_INFO_SYNTAX;
        cases[4].mtype = 41, cases[4].cb = CB_P2P_FILE, cases[4].msg = "[1,2]", cases[4].want = RTM_INFO_NOT_OBJECT;
        cases[5].mtype = 41, cases[5].cb = CB_P2P_FILE, cases[5].msg = json, cases[5].want = RTM_INFO_TOO_DEEP;
        cases[6].mtype = 1, cases[6].cb = CB_P2P_MESSAGE, cases[6].msg = "{\"url\":\"u\"}", cases[6].want = RTM_INFO_NONE;
        for (i = 0; i < 7; i++) {
            const msg_copy *m = &r.last[cases[i].cb];
            n = push_text(buf, sizeof buf, seq++, TO_P2P, FROM, UID, 8100 + (int64_t)i, cases[i].mtype, cases[i].msg,
                          "{\"custom\":1}", MTIME);
            txlen = 0;
            CHECK_ST(feed(&l, 3, buf, n, tx, sizeof tx, &txlen), RTM_OK);
            check_i64(m->mid, 8100 + (int64_t)i, cases[i].msg, __FILE__, __LINE__);
            check_i64(m->info_status, cases[i].want, cases[i].msg, __FILE__, __LINE__);
            check_true(!m->has_tr && !m->has_file, cases[i].msg, __FILE__, __LINE__);
            /* only chat and file messages are left to the accessor */
            check_true(m->lazy == (lazy && cases[i].mtype != 1), cases[i].msg, __FILE__, __LINE__);
            check_true(m->accessor_agrees, cases[i].msg, __FILE__, __LINE__);
            check_bytes(m->message.b, m->message.n, cases[i].msg, strlen(cases[i].msg), cases[i].msg, __FILE__,
                        __LINE__);
            CHECK_SB(m->attrs, "{\"custom\":1}");
        }
    }
    CHECK_EQ(r.null_ptrs, 0);
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
}

/* ---------------------------------------------------------------- the gate simulator */
#ifndef RTM_TEST_BAREMETAL

/* Sends what the listener has, without blocking; returns -1 on a broken connection. */
static int flush_tx(rtm_listener *l, int fd) {
    for (;;) {
        const uint8_t *d;
        size_t len = 0;
        ssize_t sent;
        if (rtm_listener_transmit(l, &d, &len) != RTM_OK || len == 0) return 0;
        sent = send(fd, d, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        rtm_listener_transmit_done(l, (size_t)sent);
    }
}

/* Set while an encrypted session runs: fresh system entropy is stirred in before each connect. */
static bool g_stir_entropy;

/* Drives `l` against the simulator until it exits or `limit_ms` passes. Returns the number of
 * connections made, or -1 on timeout. */
static int run_session(rtm_listener *l, sim_proc *sim, uint64_t limit_ms) {
    static uint8_t buf[8192];
    size_t have = 0;
    int fd = -1, connections = 0;
    uint64_t end = mono_ms() + limit_ms;
    while (!sim_exited(sim)) {
        uint64_t now = mono_ms(), at = 0, wait = 50;
        struct pollfd p;
        const uint8_t *d;
        size_t txlen = 0;
        rtm_status st = RTM_OK;
        if (now > end) break;
        if (fd < 0) {
            if (rtm_listener_reconnect_at(l, &at) == RTM_OK && at > now) {
                sleep_ms(at - now < 50 ? at - now : 50);
                continue;
            }
            fd = tcp_connect(sim->port);
            if (fd < 0) {
                rtm_close_reason why = rtm_close_reason_io(RTM_IO_CONNECTION_REFUSED, errno);
                rtm_listener_connect_failed(l, now, S("127.0.0.1"), &why);
                sleep_ms(10);
                continue;
            }
            connections++;
            if (g_stir_entropy) {
                uint8_t fresh[32];
                CHECK(os_entropy(fresh, sizeof fresh) == 0);
                CHECK_ST(rtm_listener_add_entropy(l, fresh, sizeof fresh), RTM_OK);
                memset(fresh, 0, sizeof fresh);
            }
            rtm_listener_set_unix_time(l, now, unix_ms());
            if (rtm_listener_connected(l, now, S("127.0.0.1")) == RTM_CLOSE) st = RTM_CLOSE;
        }
        if (st == RTM_OK && flush_tx(l, fd) < 0) st = RTM_CLOSE;
        if (st == RTM_OK && rtm_listener_next_timeout(l, &at) == RTM_OK) wait = at > now ? (at - now < 50 ? at - now : 50) : 0;
        rtm_listener_transmit(l, &d, &txlen);
        p.fd = fd;
        p.events = (short)((have < sizeof buf ? POLLIN : 0) | (txlen ? POLLOUT : 0));
        p.revents = 0;
        if (st == RTM_OK && poll(&p, 1, (int)wait) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t got = recv(fd, buf + have, sizeof buf - have, 0);
            if (got <= 0 && !(got < 0 && (errno == EAGAIN || errno == EINTR))) {
                close(fd);
                fd = -1;
                have = 0;
                rtm_close_reason why = got == 0 ? rtm_close_reason_of(RTM_REASON_PEER_CLOSED)
                                                : rtm_close_reason_io(RTM_IO_CONNECTION_RESET, errno);
                rtm_listener_closed(l, mono_ms(), &why);
                continue;
            }
            if (got > 0) have += (size_t)got;
        }
        now = mono_ms();
        /* feed what we have; keep what the listener could not take yet */
        while (st == RTM_OK && have > 0) {
            size_t c = 0;
            st = rtm_listener_receive(l, now, buf, have, &c);
            memmove(buf, buf + c, have - c);
            have -= c;
            if (c == 0) break;
        }
        if (st == RTM_OK) st = rtm_listener_handle_timeout(l, now);
        if (st == RTM_OK && flush_tx(l, fd) < 0) st = RTM_CLOSE;
        if (st == RTM_CLOSE) {
            rtm_close_reason why = rtm_close_reason_io(RTM_IO_BROKEN_PIPE, 0);
            rtm_listener_close_reason(l, &why); /* the listener's reason, if it asked */
            close(fd);
            fd = -1;
            have = 0;
            rtm_listener_closed(l, now, &why);
        }
    }
    if (fd >= 0) {
        rtm_close_reason why = rtm_close_reason_of(RTM_REASON_HOST);
        close(fd);
        rtm_listener_closed(l, mono_ms(), &why);
    }
    return sim_exited(sim) ? connections : -1;
}

static void check_chat_mids(const rec *r, int cb, const int64_t *want, size_t n) {
    size_t i, k = 0;
    int ok = 1;
    for (i = 0; i < r->norder; i++) {
        if (r->order[i] != cb) continue;
        if (k >= n || r->mids[i] != want[k]) ok = 0;
        k++;
    }
    check_true(ok && k == n, CB_NAMES[cb], __FILE__, __LINE__);
}

/* An encrypted run of the demo: the simulator's curve, the key file it writes (its extension
 * chooses PEM, DER or raw), how the listener is told the key, the mode and the key size. */
struct enc_run {
    const char *curve;
    const char *file;
    rtm_key_format format;
    const char *name; /* rtm_encryption.curve, or NULL */
    bool stream_mode, aes256;
};

/* The simulator's private key for the encrypted runs. */
#define SIM_PRIVATE_KEY "0x1f2e3d4c5b6a79880123456789abcdef"

/* `gate-sim --script demo` (with `enc`: encrypted, --force-encrypt) against a C listener over
 * loopback TCP: every push kind, the mid-frame drop and the restoration after it. */
static void demo_session(const char *gate_sim, const struct enc_run *enc) {
    static rtm_listener l;
    static rec r;
    static const int64_t p2p_chats[] = {101, 106}, group_chats[] = {201, 901, 206}, room_chats[] = {301, 306};
    static uint8_t key[512];
    static uint8_t entropy[64];
    char dir[] = "/tmp/rtm-ffi-enc-XXXXXX", path[64], group[128];
    const char *args[10];
    size_t key_len = 0;
    sim_proc sim;
    rtm_config c;
    int64_t uid = 1001, gid = 2001, rid = 3001;
    rtm_str ev[1];
    rtm_ids ids;
    uint32_t id = 0;
    int connections, code, started;
    unsigned long allocs_before, allocs_after;
    static const uint8_t audio[4] = {1, 2, 3, 4};
    if (enc) {
        snprintf(group, sizeof group, "gate-sim --script demo, encrypted: %s %s AES-%d (%s)", enc->curve,
                 enc->stream_mode ? "stream" : "package", enc->aes256 ? 256 : 128, enc->file);
        check_group(group);
    } else {
        check_group("gate-sim --script demo over loopback TCP");
    }
    memset(&r, 0, sizeof r);
    c = config(1000001, "sim-secret", rec_monitor(&r));
    if (enc) {
        if (!CHECK(mkdtemp(dir) != NULL)) return;
        snprintf(path, sizeof path, "%s/%s", dir, enc->file);
        args[0] = "--curve";
        args[1] = enc->curve;
        args[2] = "--private-key";
        args[3] = SIM_PRIVATE_KEY;
        args[4] = "--write-public-key";
        args[5] = path;
        args[6] = "--force-encrypt";
        args[7] = NULL;
        started = sim_start_args(&sim, gate_sim, "demo", args);
        key_len = read_file(path, key, sizeof key);
        unlink(path);
        rmdir(dir);
        if (!CHECK(started == 0) || !CHECK(key_len > 0)) return;
        CHECK(os_entropy(entropy, sizeof entropy) == 0);
        c.encryption.server_key = key;
        c.encryption.server_key_len = key_len;
        c.encryption.format = enc->format;
        c.encryption.curve = enc->name;
        c.encryption.stream_mode = enc->stream_mode;
        c.encryption.aes256 = enc->aes256;
        c.encryption.entropy = entropy;
        c.encryption.entropy_len = sizeof entropy;
        g_stir_entropy = true;
    } else if (!CHECK(sim_start(&sim, gate_sim, "demo") == 0)) {
        return;
    }
    allocs_before = alloc_calls();
    CHECK_ST(rtm_listener_init(&l, sizeof l, &c), RTM_OK);
    /* the listen command is queued before the first connection and sent when it comes up */
    ev[0] = S("login");
    memset(&ids, 0, sizeof ids);
    ids.uids = &uid;
    ids.uids_len = 1;
    ids.gids = &gid;
    ids.gids_len = 1;
    ids.rids = &rid;
    ids.rids_len = 1;
    ids.events = ev;
    ids.events_len = 1;
    CHECK_ST(rtm_listen_add(&l, mono_ms(), &ids, &id), RTM_OK);
    /* the entropy was stirred into the listener at init, not kept: the caller may wipe it */
    memset(entropy, 0, sizeof entropy);
    connections = run_session(&l, &sim, 30000);
    g_stir_entropy = false;
    if (enc) {
        rtm_stats st;
        CHECK_ST(rtm_listener_stats(&l, &st), RTM_OK);
        /* every connection exchanged a key (the first and the one after the drop at least);
         * one closed by the simulator's exit before the answer counts as a failure */
        CHECK(st.key_exchanges >= 2);
        CHECK_EQ(st.key_exchanges + st.key_exchange_failures, (uint64_t)connections);
    }
    CHECK_ST(rtm_listener_deinit(&l), RTM_OK);
    allocs_after = alloc_calls();
    code = sim_finish(&sim, 5000);
    CHECK_EQ(code, 0);
    CHECK(strcmp(sim.line, "SCRIPT OK pushes=22 answered=21 reconnects=1") == 0);
    if (strcmp(sim.line, "SCRIPT OK pushes=22 answered=21 reconnects=1") != 0)
        fprintf(stderr, "  gate-sim said: %s\n", sim.line);
    CHECK(connections >= 2);
    /* the library allocated nothing during the whole session */
    CHECK_EQ(allocs_after - allocs_before, 0);

    /* The first connection, then the one after the mid-frame drop. (When the host is slow, e.g.
     * under valgrind, it may reconnect once more between the script's end and the simulator's
     * exit; that connection is closed by the exit.) */
    CHECK(r.counts[CB_CONNECTED] >= 2 && r.counts[CB_CONNECTED] <= 3);
    CHECK_EQ(r.counts[CB_CONNECTED], connections);
    CHECK(r.nconnect >= 2 && !r.reconnect_flags[0] && r.reconnect_flags[1]);
    CHECK(r.counts[CB_CLOSED] >= 2); /* the mid-frame drop, then the simulator's exit */
    CHECK_EQ(r.counts[CB_COMPLETED], 1);
    CHECK_EQ(r.done_id, id);
    CHECK_EQ(r.done_code, 0);
    /* once per connection, the first included (20002 if one closed before restoring) */
    CHECK_EQ(r.counts[CB_RESTORED], r.counts[CB_CONNECTED]);
    CHECK_EQ(r.restored_codes[0], 0); /* the first connection's */
    CHECK_EQ(r.restored_codes[1], 0); /* the restoration the script waited for succeeded */
    CHECK_EQ(r.counts[CB_DISCONNECTED], r.counts[CB_CLOSED] + r.counts[CB_CONNECT_FAILED]);
    /* every kind, the duplicate of mid 101 filtered, the oneway group chat delivered */
    CHECK_EQ(r.counts[CB_P2P_CHAT], 2);
    CHECK_EQ(r.counts[CB_GROUP_CHAT], 3);
    CHECK_EQ(r.counts[CB_ROOM_CHAT], 2);
    check_chat_mids(&r, CB_P2P_CHAT, p2p_chats, 2);
    check_chat_mids(&r, CB_GROUP_CHAT, group_chats, 3);
    check_chat_mids(&r, CB_ROOM_CHAT, room_chats, 2);
    CHECK_EQ(r.counts[CB_P2P_AUDIO], 1);
    CHECK_EQ(r.counts[CB_GROUP_AUDIO], 1);
    CHECK_EQ(r.counts[CB_ROOM_AUDIO], 1);
    CHECK_EQ(r.counts[CB_P2P_CMD], 1);
    CHECK_EQ(r.counts[CB_GROUP_CMD], 1);
    CHECK_EQ(r.counts[CB_ROOM_CMD], 1);
    CHECK_EQ(r.counts[CB_P2P_FILE], 1);
    CHECK_EQ(r.counts[CB_GROUP_FILE], 1);
    CHECK_EQ(r.counts[CB_ROOM_FILE], 1);
    CHECK_EQ(r.counts[CB_P2P_MESSAGE], 1);
    CHECK_EQ(r.counts[CB_GROUP_MESSAGE], 1);
    CHECK_EQ(r.counts[CB_ROOM_MESSAGE], 1);
    CHECK_EQ(rec_messages(&r), 22 - 2 - 1 + 0); /* 22 pushes: minus event, ping, duplicate */
    CHECK_EQ(r.counts[CB_EVENT], 1);
    CHECK_EQ(r.counts[CB_PING], 1);
    CHECK_EQ(r.counts[CB_BAD_PUSH], 0);
    CHECK_EQ(r.counts[CB_BROADCAST] + r.counts[CB_KICKOUT] + r.counts[CB_KICKOUT_ROOM], 0);
    CHECK_EQ(r.null_ptrs, 0);
    /* fields */
    CHECK_SB(r.last[CB_P2P_CHAT].message, "after reconnect");
    CHECK_EQ(r.last[CB_P2P_CHAT].from_uid, 1002);
    CHECK_EQ(r.last[CB_P2P_CHAT].to_id, 1001);
    CHECK_EQ(r.last[CB_P2P_CHAT].mtime, 1700000000000LL);
    CHECK_EQ(r.last[CB_GROUP_AUDIO].mtype, 31);
    CHECK_MEM(r.last[CB_GROUP_AUDIO].message.b, r.last[CB_GROUP_AUDIO].message.n, audio, 4);
    CHECK_SB(r.last[CB_ROOM_CMD].message, "cmd room");
    CHECK_EQ(r.last[CB_ROOM_CMD].to_id, 3001);
    CHECK_SB(r.last[CB_GROUP_MESSAGE].message, "message group");
    CHECK_EQ(r.last[CB_GROUP_MESSAGE].mtype, 1);
    CHECK_EQ(r.last[CB_GROUP_MESSAGE].mid, 205);
    {
        const msg_copy *f = &r.last[CB_P2P_FILE];
        CHECK_EQ(f->mid, 104);
        CHECK_EQ(f->mtype, 41);
        CHECK(f->has_file && f->audio && f->has_custom);
        CHECK_SB(f->url, "http://127.0.0.1/f/104.amr");
        CHECK_EQ(f->size, 1024);
        CHECK_SB(f->language, "en");
        CHECK_EQ(f->duration, 3000);
        CHECK_SB(f->custom, "{\"k\":\"v\"}");
        f = &r.last[CB_GROUP_FILE];
        CHECK_EQ(f->mtype, 40);
        CHECK(f->has_file && !f->audio && !f->has_custom);
        CHECK_SB(f->url, "http://127.0.0.1/f/204.png");
        CHECK_SB(f->surl, "http://127.0.0.1/f/204s.png");
        CHECK_EQ(f->size, 2048);
        f = &r.last[CB_ROOM_FILE];
        CHECK_EQ(f->mtype, 50);
        CHECK(f->has_file && !f->audio);
        CHECK_SB(f->url, "http://127.0.0.1/f/304.bin");
        CHECK_EQ(f->size, 4096);
    }
    CHECK_EQ(r.ev_pid, 1000001);
    CHECK_SB(r.ev_event, "login");
    CHECK_EQ(r.ev_uid, 1001);
    CHECK_EQ(r.ev_time, 1700000000);
    CHECK_SB(r.ev_endpoint, "127.0.0.1:40000");
    CHECK_SB(r.ev_data, "demo");
}

static void test_gate_sim(const char *gate_sim) { demo_session(gate_sim, NULL); }

/* The demo encrypted: every curve, both modes, both key sizes, the key as PEM, DER and raw
 * (told and guessed), against a simulator that refuses plaintext listens (--force-encrypt). */
static void test_encrypted_gate_sim(const char *gate_sim) {
    static const struct enc_run runs[] = {
        {"secp256k1", "server.pem", RTM_KEY_PEM, NULL, false, false},
        {"secp256r1", "server.der", RTM_KEY_AUTO, NULL, true, true},
        {"secp224r1", "server-public.key", RTM_KEY_RAW, "secp224r1", false, true},
        {"secp192r1", "server-public.key", RTM_KEY_AUTO, "P-192", true, false},
    };
    size_t i;
    for (i = 0; i < sizeof runs / sizeof runs[0]; i++) demo_session(gate_sim, &runs[i]);
}

#endif /* RTM_TEST_BAREMETAL */

/* ---------------------------------------------------------------- main */

#ifdef RTM_TEST_BAREMETAL
int main(void) {
#else
int main(int argc, char **argv) {
#endif
    unsigned long before, after;
    void *volatile p;
#ifndef RTM_TEST_BAREMETAL
    if (argc < 2) {
        fprintf(stderr, "usage: %s <path to gate-sim>\n", argv[0]);
        return 2;
    }
#endif
    /* positive control: the allocator wrappers are really linked in (else 0 would prove nothing) */
    check_group("allocation counter");
    before = alloc_calls();
    p = malloc(16);
    free(p);
    CHECK_EQ(alloc_calls() - before, 2);

    before = alloc_calls();
    test_layout();
    test_status_strings();
    test_null_args();
    test_storage();
    test_uninit();
    test_reentry();
    test_errors();
    test_vectors();
    test_all_kinds();
    test_commands();
    test_timers();
    test_backpressure();
    test_push_mode();
    test_reasons();
    test_encryption_settings();
    test_key_exchange();
    test_buffers();
    test_json_sizes(false);
    test_json_sizes(true);
#ifndef RTM_TEST_BAREMETAL
    test_gate_sim(argv[1]);
    test_encrypted_gate_sim(argv[1]);
#endif
    after = alloc_calls();
    check_group("no heap use");
    CHECK_EQ(after - before, 0); /* no malloc/calloc/realloc/free from the library in any test */
#ifdef RTM_TEST_INIT_STACK
    test_init_stack(); /* after the count: creating a thread allocates (glibc's TLS) */
#endif
    return check_summary();
}
