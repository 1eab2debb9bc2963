/* FPNN frames for the tests, written independently of the library: hex decoding, a tiny
 * msgpack writer, push builders and a parser for the frames the library transmits.
 * C99 and C++17. */
#ifndef RTM_FFI_TESTS_WIRE_H
#define RTM_FFI_TESTS_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Decodes `hex` into `out` (at most `cap` bytes); returns the length, or 0 on bad input. */
static inline size_t hex_decode(const char *hex, uint8_t *out, size_t cap) {
    size_t n = strlen(hex), i;
    if (n % 2 || n / 2 > cap) return 0;
    for (i = 0; i < n / 2; i++) {
        unsigned v = 0;
        int k;
        for (k = 0; k < 2; k++) {
            char c = hex[2 * i + (size_t)k];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
            else return 0;
        }
        out[i] = (uint8_t)v;
    }
    return n / 2;
}

/* ---- msgpack writer (bounded; `ok` drops to 0 on overflow) ---- */

typedef struct mp_buf {
    uint8_t *p;
    size_t len, cap;
    int ok;
} mp_buf;

static inline mp_buf mp_init(uint8_t *p, size_t cap) {
    mp_buf b;
    b.p = p;
    b.len = 0;
    b.cap = cap;
    b.ok = 1;
    return b;
}

static inline void mp_raw(mp_buf *b, const void *data, size_t n) {
    if (!b->ok || b->cap - b->len < n) {
        b->ok = 0;
        return;
    }
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
}

static inline void mp_byte(mp_buf *b, uint8_t v) { mp_raw(b, &v, 1); }

static inline void mp_be(mp_buf *b, uint64_t v, int bytes) {
    int i;
    for (i = bytes - 1; i >= 0; i--) mp_byte(b, (uint8_t)(v >> (8 * i)));
}

static inline void mp_map(mp_buf *b, uint32_t n) {
    if (n < 16) mp_byte(b, (uint8_t)(0x80 | n));
    else {
        mp_byte(b, 0xde);
        mp_be(b, n, 2);
    }
}

static inline void mp_array(mp_buf *b, uint32_t n) {
    if (n < 16) mp_byte(b, (uint8_t)(0x90 | n));
    else {
        mp_byte(b, 0xdc);
        mp_be(b, n, 2);
    }
}

/* Smallest encoding, like the SDKs. */
static inline void mp_int(mp_buf *b, int64_t v) {
    if (v >= 0) {
        uint64_t u = (uint64_t)v;
        if (u < 128) mp_byte(b, (uint8_t)u);
        else if (u <= 0xff) { mp_byte(b, 0xcc); mp_be(b, u, 1); }
        else if (u <= 0xffff) { mp_byte(b, 0xcd); mp_be(b, u, 2); }
        else if (u <= 0xffffffffu) { mp_byte(b, 0xce); mp_be(b, u, 4); }
        else { mp_byte(b, 0xcf); mp_be(b, u, 8); }
    } else if (v >= -32) {
        mp_byte(b, (uint8_t)(int8_t)v);
    } else if (v >= INT8_MIN) { mp_byte(b, 0xd0); mp_be(b, (uint64_t)v, 1); }
    else if (v >= INT16_MIN) { mp_byte(b, 0xd1); mp_be(b, (uint64_t)v, 2); }
    else if (v >= INT32_MIN) { mp_byte(b, 0xd2); mp_be(b, (uint64_t)v, 4); }
    else { mp_byte(b, 0xd3); mp_be(b, (uint64_t)v, 8); }
}

static inline void mp_strn(mp_buf *b, const char *s, size_t n) {
    if (n < 32) mp_byte(b, (uint8_t)(0xa0 | n));
    else if (n <= 0xff) { mp_byte(b, 0xd9); mp_be(b, n, 1); }
    else if (n <= 0xffff) { mp_byte(b, 0xda); mp_be(b, n, 2); }
    else { mp_byte(b, 0xdb); mp_be(b, n, 4); }
    mp_raw(b, s, n);
}

static inline void mp_str(mp_buf *b, const char *s) { mp_strn(b, s, strlen(s)); }

static inline void mp_bin(mp_buf *b, const void *data, size_t n) {
    if (n <= 0xff) { mp_byte(b, 0xc4); mp_be(b, n, 1); }
    else if (n <= 0xffff) { mp_byte(b, 0xc5); mp_be(b, n, 2); }
    else { mp_byte(b, 0xc6); mp_be(b, n, 4); }
    mp_raw(b, data, n);
}

/* ---- FPNN frames (little-endian header; version 1, flag 0x80 msgpack) ---- */

static inline void le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t rd_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A quest frame: twoway (seq > 0) or oneway (seq == 0). Returns its length, 0 if no room. */
static inline size_t fpnn_quest(uint8_t *out, size_t cap, uint32_t seq, const char *method, const uint8_t *payload,
                                size_t plen) {
    size_t ml = strlen(method), head = seq ? 16 : 12, n = head + ml + plen;
    if (n > cap || ml == 0 || ml > 255) return 0;
    memcpy(out, "FPNN", 4);
    out[4] = 1;
    out[5] = 0x80;
    out[6] = seq ? 1 : 0;
    out[7] = (uint8_t)ml;
    le32(out + 8, (uint32_t)plen);
    if (seq) le32(out + 12, seq);
    memcpy(out + head, method, ml);
    memcpy(out + head + ml, payload, plen);
    return n;
}

/* An answer frame to `seq`: status 0 with `payload`, or status 1. */
static inline size_t fpnn_answer(uint8_t *out, size_t cap, uint32_t seq, int status, const uint8_t *payload,
                                 size_t plen) {
    size_t n = 16 + plen;
    if (n > cap) return 0;
    memcpy(out, "FPNN", 4);
    out[4] = 1;
    out[5] = 0x80;
    out[6] = 2;
    out[7] = (uint8_t)status;
    le32(out + 8, (uint32_t)plen);
    le32(out + 12, seq);
    memcpy(out + 16, payload, plen);
    return n;
}

/* The target key of a message push. */
enum push_target { TO_P2P, TO_GROUP, TO_ROOM, TO_BROADCAST };

/* Room for the payload of one push built here (big pushes included). */
#define WIRE_PAYLOAD_MAX (96 * 1024)

/* A message push payload {from, to|gid|rid, mid, mtype, msg, attrs, mtime}; `msg_bin` sends msg
 * as msgpack bin instead of str. Returns the frame length (0 if no room). */
static inline size_t push_message(uint8_t *out, size_t cap, uint32_t seq, enum push_target target, int64_t from,
                                  int64_t to, int64_t mid, int mtype, const void *msg, size_t msg_len, int msg_bin,
                                  const char *attrs, int64_t mtime) {
    static const char *const methods[] = {"pushmsg", "pushgroupmsg", "pushroommsg", "pushbroadcastmsg"};
    static const char *const keys[] = {"to", "gid", "rid", ""};
    static uint8_t payload[WIRE_PAYLOAD_MAX]; /* static: big pushes (not reentrant) */
    mp_buf b = mp_init(payload, sizeof payload);
    mp_map(&b, target == TO_BROADCAST ? 6 : 7);
    mp_str(&b, "from");
    mp_int(&b, from);
    if (target != TO_BROADCAST) {
        mp_str(&b, keys[target]);
        mp_int(&b, to);
    }
    mp_str(&b, "mid");
    mp_int(&b, mid);
    mp_str(&b, "mtype");
    mp_int(&b, mtype);
    mp_str(&b, "msg");
    if (msg_bin) mp_bin(&b, msg, msg_len);
    else mp_strn(&b, (const char *)msg, msg_len);
    mp_str(&b, "attrs");
    mp_str(&b, attrs);
    mp_str(&b, "mtime");
    mp_int(&b, mtime);
    if (!b.ok) return 0;
    return fpnn_quest(out, cap, seq, methods[target], payload, b.len);
}

/* A text message push (msg as str). */
static inline size_t push_text(uint8_t *out, size_t cap, uint32_t seq, enum push_target target, int64_t from,
                               int64_t to, int64_t mid, int mtype, const char *msg, const char *attrs, int64_t mtime) {
    return push_message(out, cap, seq, target, from, to, mid, mtype, msg, strlen(msg), 0, attrs, mtime);
}

/* A pushevent {pid, event, uid, time, endpoint[, data]}. */
static inline size_t push_event(uint8_t *out, size_t cap, uint32_t seq, int64_t pid, const char *event, int64_t uid,
                                int64_t time, const char *endpoint, const char *data) {
    uint8_t payload[512];
    mp_buf b = mp_init(payload, sizeof payload);
    mp_map(&b, data ? 6 : 5);
    mp_str(&b, "pid");
    mp_int(&b, pid);
    mp_str(&b, "event");
    mp_str(&b, event);
    mp_str(&b, "uid");
    mp_int(&b, uid);
    mp_str(&b, "time");
    mp_int(&b, time);
    mp_str(&b, "endpoint");
    mp_str(&b, endpoint);
    if (data) {
        mp_str(&b, "data");
        mp_str(&b, data);
    }
    if (!b.ok) return 0;
    return fpnn_quest(out, cap, seq, "pushevent", payload, b.len);
}

/* A push with an empty map payload (ping, kickout, unknown methods). */
static inline size_t push_empty(uint8_t *out, size_t cap, uint32_t seq, const char *method) {
    static const uint8_t empty_map[1] = {0x80};
    return fpnn_quest(out, cap, seq, method, empty_map, 1);
}

/* kickoutroom {rid}. */
static inline size_t push_kickout_room(uint8_t *out, size_t cap, uint32_t seq, int64_t rid) {
    uint8_t payload[32];
    mp_buf b = mp_init(payload, sizeof payload);
    mp_map(&b, 1);
    mp_str(&b, "rid");
    mp_int(&b, rid);
    return fpnn_quest(out, cap, seq, "kickoutroom", payload, b.len);
}

/* An error answer {code, ex}. */
static inline size_t answer_error(uint8_t *out, size_t cap, uint32_t seq, int64_t code, const char *ex) {
    uint8_t payload[256];
    mp_buf b = mp_init(payload, sizeof payload);
    mp_map(&b, 2);
    mp_str(&b, "code");
    mp_int(&b, code);
    mp_str(&b, "ex");
    mp_str(&b, ex);
    if (!b.ok) return 0;
    return fpnn_answer(out, cap, seq, 1, payload, b.len);
}

/* An empty OK answer {}. */
static inline size_t answer_ok(uint8_t *out, size_t cap, uint32_t seq) {
    static const uint8_t empty_map[1] = {0x80};
    return fpnn_answer(out, cap, seq, 0, empty_map, 1);
}

/* ---- parsing what the library transmits ---- */

typedef struct fpnn_frame {
    int mtype;          /* 0 oneway, 1 twoway, 2 answer */
    int ss;             /* method length or answer status */
    uint32_t seq;       /* 0 for oneway */
    const uint8_t *method;
    size_t method_len;
    const uint8_t *payload;
    size_t payload_len;
    size_t total;
} fpnn_frame;

/* Parses one frame at the start of `p`; returns 1 on success, 0 if incomplete or malformed. */
static inline int fpnn_parse(const uint8_t *p, size_t n, fpnn_frame *f) {
    size_t head, body;
    if (n < 12 || memcmp(p, "FPNN", 4) != 0) return 0;
    f->mtype = p[6];
    f->ss = p[7];
    f->payload_len = rd_le32(p + 8);
    head = f->mtype == 0 ? 12 : 16;
    if (f->mtype > 2) return 0;
    f->seq = f->mtype == 0 ? 0 : (n >= 16 ? rd_le32(p + 12) : 0);
    f->method_len = f->mtype == 2 ? 0 : (size_t)f->ss;
    body = f->method_len + f->payload_len;
    if (n < head || n - head < body) return 0;
    f->method = p + head;
    f->payload = p + head + f->method_len;
    f->total = head + body;
    return 1;
}

/* Whether frame `f` has method `m`. */
static inline int fpnn_is(const fpnn_frame *f, const char *m) {
    return f->method_len == strlen(m) && memcmp(f->method, m, f->method_len) == 0;
}

/* FNV-1a of n bytes: compares long strings seen in callbacks without copying them. */
static inline uint32_t fnv1a(const void *p, size_t n) {
    const uint8_t *b = (const uint8_t *)p;
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
    return h;
}

/* Writes `count` CJK characters (from U+4E00, `first` on) into out as JSON \uXXXX escapes (6 bytes each)
 * and, when `utf8` is not NULL, the same text in UTF-8 (3 bytes each). Returns the escaped
 * length; both outputs are NUL-terminated. */
static inline size_t cjk_escaped(char *out, char *utf8, size_t count, unsigned first) {
    static const char hex[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < count; i++) {
        unsigned c = 0x4e00u + (first + (unsigned)i * 37u) % 4000u;
        out[6 * i] = '\\';
        out[6 * i + 1] = 'u';
        out[6 * i + 2] = hex[(c >> 12) & 15];
        out[6 * i + 3] = hex[(c >> 8) & 15];
        out[6 * i + 4] = hex[(c >> 4) & 15];
        out[6 * i + 5] = hex[c & 15];
        if (utf8) {
            utf8[3 * i] = (char)(0xe0 | (c >> 12));
            utf8[3 * i + 1] = (char)(0x80 | ((c >> 6) & 0x3f));
            utf8[3 * i + 2] = (char)(0x80 | (c & 0x3f));
        }
    }
    out[6 * count] = 0;
    if (utf8) utf8[3 * count] = 0;
    return 6 * count;
}

/* A URL of exactly `len` bytes ("https://files.example.com/" then "a/" repeated, cut), in
 * `plain`, and as a JSON string body with every '/' escaped as "\/" in `escaped`. */
static inline void long_url(char *plain, char *escaped, size_t len) {
    static const char head[] = "https://files.example.com/";
    size_t i, k = 0;
    for (i = 0; i < len; i++) plain[i] = i < sizeof head - 1 ? head[i] : ((i & 1) ? '/' : 'a');
    plain[len] = 0;
    for (i = 0; i < len; i++) {
        if (plain[i] == '/') escaped[k++] = '\\';
        escaped[k++] = plain[i];
    }
    escaped[k] = 0;
}

#endif
