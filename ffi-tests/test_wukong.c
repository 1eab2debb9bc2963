/* The WuKongIM listener through the C ABI (rtm_wk_*), C99: argument checks, then a session over
 * loopback TCP against `wukong-sim --script demo` (a WuKongIM SIMULATION with its own codec
 * and crypto), encrypted and plaintext: every kind reaches its callback once with its string
 * ids, the re-send is not delivered twice, a kick is reported and survived, a drop in the
 * middle of a RECV is survived and the RECV delivered once after it, every RECV is
 * acknowledged (the simulator checks), and the library allocates nothing.
 *
 * usage: test_wukong WUKONG_SIM_BINARY */
#define _POSIX_C_SOURCE 200809L
#include "sim.h"

#include "alloc_count.h"
#include "check.h"

#define MAX_SEEN 32

/* A NUL-terminated string equal to another. */
#define CHECK_CSTR(got, want) check_bytes((const uint8_t *)(got), strlen(got), (want), strlen(want), #got " == " #want, __FILE__, __LINE__)

typedef struct seen {
    int count;
    int64_t mids[MAX_SEEN];
    const char *callbacks[MAX_SEEN];
    int64_t from[MAX_SEEN], to[MAX_SEEN];
    char from_uid[MAX_SEEN][16], channel_id[MAX_SEEN][16], topic[MAX_SEEN][16], file_url[MAX_SEEN][32];
    size_t message_len[MAX_SEEN];
    int8_t mtype[MAX_SEEN];
    int null_views;
    int connected_ok, connected_fail, closed, kickouts, bad, reentry_busy;
    rtm_wk_listener *self;
} seen;

static void copy_str(char *dst, rtm_str s) {
    size_t n = s.len < 15 ? s.len : 15;
    if (n) memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

static void record(void *user, const rtm_message *m, const char *cb) {
    seen *s = (seen *)user;
    int i = s->count;
    size_t consumed = 0;
    if (i >= MAX_SEEN) return;
    if (!m->wukong) {
        s->null_views++;
        return;
    }
    s->mids[i] = m->message_id;
    s->callbacks[i] = cb;
    s->from[i] = m->from_uid;
    s->to[i] = m->to_id;
    s->mtype[i] = m->message_type;
    copy_str(s->from_uid[i], m->wukong->from_uid);
    copy_str(s->channel_id[i], m->wukong->channel_id);
    copy_str(s->topic[i], m->wukong->has_topic ? m->wukong->topic : (rtm_str){(const uint8_t *)"", 0});
    s->file_url[i][0] = 0;
    if (m->file_info && m->info_status == RTM_INFO_OK) {
        size_t n = m->file_info->url.len < 31 ? m->file_info->url.len : 31;
        memcpy(s->file_url[i], m->file_info->url.ptr, n);
        s->file_url[i][n] = 0;
    }
    s->message_len[i] = m->message.len;
    /* Re-entering the listener from its own callback is refused. */
    if (rtm_wk_listener_receive(s->self, 0, (const uint8_t *)"x", 1, &consumed) == RTM_ERR_BUSY) s->reentry_busy++;
    s->count++;
}

static void on_p2p_chat(void *u, const rtm_message *m) { record(u, m, "p2p_chat"); }
static void on_p2p_msg(void *u, const rtm_message *m) { record(u, m, "p2p_message"); }
static void on_group_cmd(void *u, const rtm_message *m) { record(u, m, "group_cmd"); }
static void on_group_msg(void *u, const rtm_message *m) { record(u, m, "group_message"); }
static void on_group_chat(void *u, const rtm_message *m) { record(u, m, "group_chat"); }
static void on_room_file(void *u, const rtm_message *m) { record(u, m, "room_file"); }

static void on_connected(void *u, rtm_str ep, bool ok, bool re) {
    (void)ep;
    (void)re;
    if (ok) ((seen *)u)->connected_ok++;
    else ((seen *)u)->connected_fail++;
}
static void on_closed(void *u, rtm_str ep, bool by_error, bool re) {
    (void)ep;
    (void)by_error;
    (void)re;
    ((seen *)u)->closed++;
}
static void on_kickout(void *u) { ((seen *)u)->kickouts++; }
static void on_bad(void *u, rtm_str method, int64_t code, bool twoway, uint32_t seq, size_t len) {
    (void)method;
    (void)code;
    (void)twoway;
    (void)seq;
    (void)len;
    ((seen *)u)->bad++;
}

static rtm_wk_config config(seen *s, const uint8_t *entropy) {
    rtm_wk_config c = rtm_wk_config_default();
    c.uid = (rtm_str){(const uint8_t *)"90001", 5};
    c.token = (rtm_str){(const uint8_t *)"tok", 3};
    c.device_id = (rtm_str){(const uint8_t *)"test-wukong-c", 13};
    c.entropy = entropy;
    c.entropy_len = 32;
    c.monitor.user = s;
    c.monitor.connected = on_connected;
    c.monitor.closed = on_closed;
    c.monitor.kickout = on_kickout;
    c.monitor.bad_push = on_bad;
    c.monitor.push_p2p_chat = on_p2p_chat;
    c.monitor.push_p2p_message = on_p2p_msg;
    c.monitor.push_group_cmd = on_group_cmd;
    c.monitor.push_group_message = on_group_msg;
    c.monitor.push_group_chat = on_group_chat;
    c.monitor.push_room_file = on_room_file;
    return c;
}

static rtm_wk_listener storage;

static void test_arguments(void) {
    seen s;
    uint8_t e[32] = {1};
    rtm_wk_config c;
    size_t consumed = 0;
    uint64_t at = 0;
    rtm_close_reason r;
    check_group("arguments");
    memset(&s, 0, sizeof s);
    c = config(&s, e);
    CHECK(rtm_wk_listener_size() == sizeof(rtm_wk_listener));
    CHECK_ST(rtm_wk_listener_init(NULL, sizeof storage, &c), RTM_ERR_NULL);
    CHECK_ST(rtm_wk_listener_init(&storage, sizeof storage, NULL), RTM_ERR_NULL);
    CHECK_ST(rtm_wk_listener_init(&storage, sizeof storage - 1, &c), RTM_ERR_STORAGE);
    c.entropy_len = 31;
    CHECK_ST(rtm_wk_listener_init(&storage, sizeof storage, &c), RTM_ERR_SHORT_ENTROPY);
    c.entropy_len = 32;
    c.uid = (rtm_str){(const uint8_t *)"a@b", 3};
    CHECK_ST(rtm_wk_listener_init(&storage, sizeof storage, &c), RTM_ERR_INVALID_ARG);
    c = config(&s, e);
    c.version = 7;
    CHECK_ST(rtm_wk_listener_init(&storage, sizeof storage, &c), RTM_ERR_INVALID_ARG);
    /* Zeroed storage is no listener. */
    CHECK_ST(rtm_wk_listener_receive(&storage, 0, NULL, 0, &consumed), RTM_ERR_UNINIT);
    CHECK_ST(rtm_wk_listener_next_timeout(NULL, &at), RTM_ERR_NULL);
    c = config(&s, e);
    CHECK_ST(rtm_wk_listener_init(&storage, sizeof storage, &c), RTM_OK);
    CHECK_ST(rtm_wk_listener_receive(&storage, 0, (const uint8_t *)"x", 1, &consumed), RTM_ERR_NOT_CONNECTED);
    CHECK_ST(rtm_wk_listener_receive(&storage, 0, NULL, 1, &consumed), RTM_ERR_NULL);
    CHECK_ST(rtm_wk_listener_receive(&storage, 0, NULL, 0, NULL), RTM_ERR_NULL);
    CHECK_ST(rtm_wk_listener_reconnect_at(&storage, &at), RTM_OK);
    CHECK_EQ(at, 0);
    CHECK_ST(rtm_wk_listener_close_reason(&storage, &r), RTM_NONE);
    CHECK_ST(rtm_wk_listener_transmit_done(&storage, 1), RTM_ERR_INVALID_ARG);
    /* A protocol fault: RTM_CLOSE, its reason, described. */
    CHECK_ST(rtm_wk_listener_connected(&storage, 1, (rtm_str){(const uint8_t *)"x", 1}), RTM_OK);
    CHECK_ST(rtm_wk_listener_receive(&storage, 2, (const uint8_t *)"\xd0\x00", 2, &consumed), RTM_CLOSE);
    CHECK_ST(rtm_wk_listener_close_reason(&storage, &r), RTM_OK);
    CHECK_EQ(r.kind, RTM_REASON_WK_PROTOCOL);
    CHECK_EQ(r.protocol, RTM_WK_PROTOCOL_FRAME);
    CHECK_EQ(r.protocol_byte, 13);
    CHECK_CSTR(rtm_close_reason_str(&r), "WuKongIM protocol error: bad framing");
    CHECK_ST(rtm_wk_listener_next_timeout(&storage, &at), RTM_NONE);
    CHECK_ST(rtm_wk_listener_closed(&storage, 3, &r), RTM_OK);
    CHECK_EQ(s.connected_fail, 1);
    CHECK_ST(rtm_wk_listener_deinit(&storage), RTM_OK);
    CHECK_ST(rtm_wk_listener_deinit(&storage), RTM_ERR_UNINIT);
}

/* One session against `wukong-sim --script demo` (extra: its options). */
static void test_session(const char *sim_path, const char *label, const char *const *extra) {
    sim_proc p;
    seen s;
    uint8_t e[32];
    rtm_wk_config c;
    int fd = -1;
    uint64_t start = mono_ms();
    unsigned long allocs_before, allocs_after;
    int i;
    rtm_wk_stats st;
    check_group(label);
    memset(&s, 0, sizeof s);
    s.self = &storage;
    if (!CHECK(os_entropy(e, sizeof e) == 0)) return;
    if (!CHECK(sim_start_args(&p, sim_path, "demo", extra) == 0)) return;
    c = config(&s, e);
    if (!CHECK_ST(rtm_wk_listener_init(&storage, sizeof storage, &c), RTM_OK)) return;
    rtm_wk_listener_set_unix_time(&storage, mono_ms(), unix_ms());
    allocs_before = alloc_calls();
    while (!sim_exited(&p) && mono_ms() - start < 30000) {
        uint64_t now = mono_ms(), at = 0;
        const uint8_t *out;
        size_t out_len = 0;
        rtm_status st_rx = RTM_OK;
        if (fd < 0) {
            if (rtm_wk_listener_reconnect_at(&storage, &at) == RTM_OK && now >= at) {
                fd = tcp_connect(p.port);
                if (fd >= 0) {
                    CHECK_ST(rtm_wk_listener_connected(&storage, now, (rtm_str){(const uint8_t *)"sim", 3}), RTM_OK);
                }
            } else {
                sleep_ms(5);
                continue;
            }
        }
        if (fd < 0) continue;
        if (rtm_wk_listener_transmit(&storage, &out, &out_len) == RTM_OK && out_len > 0) {
            ssize_t w = write(fd, out, out_len);
            if (w > 0) rtm_wk_listener_transmit_done(&storage, (size_t)w);
        }
        {
            struct pollfd pf;
            uint8_t buf[4096];
            ssize_t n;
            pf.fd = fd;
            pf.events = POLLIN;
            pf.revents = 0;
            poll(&pf, 1, 10);
            n = read(fd, buf, sizeof buf);
            now = mono_ms();
            if (n > 0) {
                size_t off = 0;
                while (off < (size_t)n) {
                    size_t consumed = 0;
                    st_rx = rtm_wk_listener_receive(&storage, now, buf + off, (size_t)n - off, &consumed);
                    off += consumed;
                    if (st_rx != RTM_OK) break;
                    if (consumed == 0) {
                        /* Acks wait for room: send them, then feed the rest. */
                        if (rtm_wk_listener_transmit(&storage, &out, &out_len) == RTM_OK && out_len > 0) {
                            ssize_t w = write(fd, out, out_len);
                            if (w > 0) rtm_wk_listener_transmit_done(&storage, (size_t)w);
                        }
                    }
                }
            } else if (n == 0) {
                rtm_close_reason r = rtm_close_reason_of(RTM_REASON_PEER_CLOSED);
                close(fd);
                fd = -1;
                rtm_wk_listener_closed(&storage, now, &r);
                continue;
            }
        }
        if (st_rx == RTM_CLOSE) {
            rtm_close_reason r;
            CHECK_ST(rtm_wk_listener_close_reason(&storage, &r), RTM_OK);
            /* The kick: DISCONNECT 12. */
            CHECK_EQ(r.kind, RTM_REASON_WK_DISCONNECTED);
            CHECK_EQ(r.code, 12);
            close(fd);
            fd = -1;
            rtm_wk_listener_closed(&storage, mono_ms(), &r);
            continue;
        }
        if (rtm_wk_listener_next_timeout(&storage, &at) == RTM_OK && mono_ms() >= at) {
            rtm_wk_listener_handle_timeout(&storage, mono_ms());
        }
    }
    allocs_after = alloc_calls();
    if (fd >= 0) close(fd);
    CHECK_EQ(sim_finish(&p, 5000), 0);
    CHECK(strncmp(p.line, "SCRIPT OK", 9) == 0);
    if (strncmp(p.line, "SCRIPT OK", 9) != 0) fprintf(stderr, "  simulator: %s\n", p.line);
    CHECK_EQ(allocs_after - allocs_before, 0);
    /* Eight messages, once each, in order, each to its callback (2001 after the drop). */
    CHECK_EQ(s.count, 8);
    CHECK_EQ(s.null_views, 0);
    for (i = 0; i < 6 && i < s.count; i++) CHECK_EQ(s.mids[i], 1000 + i);
    if (s.count == 8) {
        CHECK_EQ(s.mids[6], 2000);
        CHECK_EQ(s.mids[7], 2001);
        CHECK_CSTR(s.callbacks[0], "p2p_chat");
        CHECK_CSTR(s.callbacks[1], "group_cmd");
        CHECK_CSTR(s.callbacks[2], "room_file");
        CHECK_CSTR(s.callbacks[3], "group_message");
        CHECK_CSTR(s.callbacks[4], "p2p_message");
        CHECK_CSTR(s.callbacks[5], "group_chat");
        /* Numeric ids: the integers; string ids: 0, with the strings in the view. */
        CHECK_EQ(s.from[0], 10001);
        CHECK_EQ(s.to[0], 90001);
        CHECK_CSTR(s.from_uid[0], "10001");
        CHECK_EQ(s.from[2], 0);
        CHECK_EQ(s.to[2], 0);
        CHECK_CSTR(s.from_uid[2], "alice");
        CHECK_CSTR(s.channel_id[2], "live-7");
        CHECK_EQ(s.mtype[2], 2);
        /* The image's file info from its payload; the payload itself stays the message. */
        CHECK_CSTR(s.file_url[2], "https://example.com/a.png");
        CHECK(s.message_len[2] > 40);
        CHECK_CSTR(s.file_url[0], "");
        CHECK_EQ(s.mtype[3], 0); /* type 1001 does not fit int8_t */
        CHECK_CSTR(s.topic[5], "news");
    }
    CHECK_EQ(s.reentry_busy, s.count);
    CHECK_EQ(s.kickouts, 1);
    CHECK_EQ(s.connected_ok, 3);
    CHECK(s.closed == 2 || s.closed == 3); /* the kick, the drop, and maybe the simulator exiting */
    CHECK_EQ(s.bad, 0);
    CHECK(rtm_wk_listener_stats(&storage, &st) != RTM_ERR_NULL);
    CHECK_EQ(st.delivered, 8);
    CHECK_EQ(st.duplicates, 1);
    CHECK_EQ(st.logins, 3);
    CHECK_ST(rtm_wk_listener_deinit(&storage), RTM_OK);
}

/* The reference's msg.notify example (Go's v2.2.5 output): a group text, a P2P file. */
static const char NOTIFY[] =
    "[{\"header\":{\"no_persist\":0,\"red_dot\":1,\"sync_once\":0},\"setting\":0,\"message_id\":1848213190224834560,"
    "\"message_idstr\":\"1848213190224834560\",\"client_msg_no\":\"a1b2c3d4\",\"message_seq\":12,\"from_uid\":\"alice\","
    "\"channel_id\":\"g1\",\"channel_type\":2,\"expire\":0,\"timestamp\":1729756800,"
    "\"payload\":\"eyJ0eXBlIjoxLCJjb250ZW50IjoiaGkgYWxsIn0=\"},\n"
    " {\"header\":{\"no_persist\":0,\"red_dot\":1,\"sync_once\":0},\"setting\":0,\"message_id\":1848213190224834561,"
    "\"message_idstr\":\"1848213190224834561\",\"client_msg_no\":\"e5f6\",\"message_seq\":3,\"from_uid\":\"alice\","
    "\"channel_id\":\"bob\",\"channel_type\":1,\"expire\":0,\"timestamp\":1729756801,"
    "\"payload\":\"eyJ0eXBlIjo4LCJ1cmwiOiJodHRwczovL2YuZXhhbXBsZS9hLnBkZiIsIm5hbWUiOiJhLnBkZiIsInNpemUiOjEwMjR9\"}]";

static int events_seen;
static char event_data[160];
static void on_event(void *u, int64_t pid, rtm_str event, int64_t uid, int64_t time, rtm_str endpoint, rtm_str data) {
    (void)u;
    (void)pid;
    (void)uid;
    (void)time;
    (void)endpoint;
    (void)event;
    events_seen++;
    copy_str(event_data, (rtm_str){data.ptr, data.len < 15 ? data.len : 15});
}
static void on_p2p_file(void *u, const rtm_message *m) { record(u, m, "p2p_file"); }

/* The webhook ingest through the C ABI: the listen set filters, callbacks run during the call,
 * the status to answer, a retried batch delivers nothing twice, bad input has its error, and
 * the request bodies. */
static void test_webhook(void) {
    seen s;
    uint8_t e[32] = {9};
    uint8_t scratch[1024];
    rtm_wk_config c;
    rtm_wk_webhook_result r;
    const rtm_str g1 = {(const uint8_t *)"g1", 2}, bob = {(const uint8_t *)"bob", 3}, login = {(const uint8_t *)"login", 5};
    const rtm_str typing = {(const uint8_t *)"typing", 6}, monitor = {(const uint8_t *)"monitor", 7};
    rtm_wk_ids ids;
    const char presence[] = "[\"alice-1-1-42-1-2\"]";
    uint8_t body[128];
    size_t len = 0;
    check_group("webhook");
    memset(&s, 0, sizeof s);
    s.self = &storage;
    c = config(&s, e);
    c.monitor.push_p2p_file = on_p2p_file;
    c.monitor.push_event = on_event;
    CHECK_ST(rtm_wk_listener_init(&storage, sizeof storage, &c), RTM_OK);
    /* Nothing listened to: both filtered, 200. */
    CHECK_ST(rtm_wk_listener_webhook(&storage, 1, (rtm_str){(const uint8_t *)"msg.notify", 10}, (const uint8_t *)NOTIFY,
                                     sizeof NOTIFY - 1, scratch, sizeof scratch, &r), RTM_OK);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.filtered, 2);
    CHECK_EQ(s.count, 0);
    memset(&ids, 0, sizeof ids);
    ids.gids = &g1;
    ids.gids_len = 1;
    ids.uids = &bob;
    ids.uids_len = 1;
    ids.events = &login;
    ids.events_len = 1;
    CHECK_ST(rtm_wk_listen_add(&storage, &ids), RTM_OK);
    CHECK_ST(rtm_wk_listener_webhook(&storage, 2, (rtm_str){(const uint8_t *)"msg.notify", 10}, (const uint8_t *)NOTIFY,
                                     sizeof NOTIFY - 1, scratch, sizeof scratch, &r), RTM_OK);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.delivered, 2);
    CHECK_EQ(s.count, 2);
    if (s.count == 2) {
        CHECK_CSTR(s.callbacks[0], "group_chat");
        CHECK_EQ(s.mids[0], INT64_C(1848213190224834560));
        CHECK_CSTR(s.channel_id[0], "g1");
        CHECK_CSTR(s.callbacks[1], "p2p_file");
        CHECK_CSTR(s.from_uid[1], "alice");
        CHECK_CSTR(s.file_url[1], "https://f.example/a.pdf");
    }
    /* The server's retry: nothing twice. */
    CHECK_ST(rtm_wk_listener_webhook(&storage, 3, (rtm_str){(const uint8_t *)"msg.notify", 10}, (const uint8_t *)NOTIFY,
                                     sizeof NOTIFY - 1, scratch, sizeof scratch, &r), RTM_OK);
    CHECK_EQ(r.duplicates, 2);
    CHECK_EQ(s.count, 2);
    /* Presence. */
    CHECK_ST(rtm_wk_listener_webhook(&storage, 4, (rtm_str){(const uint8_t *)"user.onlinestatus", 17},
                                     (const uint8_t *)presence, sizeof presence - 1, scratch, sizeof scratch, &r), RTM_OK);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(events_seen, 1);
    CHECK_CSTR(event_data, "{\"uid\":\"alice\","); /* the first 15 bytes */
    /* Bad input: its error and status; a scratch too small: 413. */
    CHECK_ST(rtm_wk_listener_webhook(&storage, 5, (rtm_str){(const uint8_t *)"msg.notify", 10}, (const uint8_t *)"[{", 2,
                                     scratch, sizeof scratch, &r), RTM_OK);
    CHECK_EQ(r.status, 400);
    CHECK_EQ(r.error, RTM_WK_WEBHOOK_JSON);
    CHECK_ST(rtm_wk_listener_webhook(&storage, 5, (rtm_str){(const uint8_t *)"msg.sent", 8}, (const uint8_t *)"[]", 2,
                                     scratch, sizeof scratch, &r), RTM_OK);
    CHECK_EQ(r.error, RTM_WK_WEBHOOK_UNKNOWN_EVENT);
    CHECK_ST(rtm_wk_listener_webhook(&storage, 5, (rtm_str){(const uint8_t *)"msg.notify", 10}, (const uint8_t *)NOTIFY,
                                     sizeof NOTIFY - 1, scratch, 8, &r), RTM_OK);
    CHECK_EQ(r.status, 413);
    CHECK_EQ(r.error, RTM_WK_WEBHOOK_SCRATCH_FULL);
    CHECK_ST(rtm_wk_listener_webhook(&storage, 5, (rtm_str){(const uint8_t *)"msg.notify", 10}, NULL, 3, scratch,
                                     sizeof scratch, &r), RTM_ERR_NULL);
    /* A refused listen command changes nothing. */
    ids.events = &typing;
    CHECK_ST(rtm_wk_listen_add(&storage, &ids), RTM_ERR_UNSUPPORTED_EVENT);
    CHECK_ST(rtm_wk_listen_set_all(&storage, true, true, true, true), RTM_OK);
    /* The request bodies. */
    CHECK_ST(rtm_wk_subscribers_body(body, sizeof body, g1, 2, &monitor, 1, &len), RTM_OK);
    CHECK_MEM(body, len, "{\"channel_id\":\"g1\",\"channel_type\":2,\"subscribers\":[\"monitor\"]}", 62);
    CHECK_ST(rtm_wk_subscribers_body(body, 10, g1, 2, &monitor, 1, &len), RTM_ERR_BUFFER_TOO_SMALL);
    CHECK_ST(rtm_wk_user_token_body(body, sizeof body, monitor, (rtm_str){(const uint8_t *)"t", 1}, 2, 0, &len), RTM_OK);
    CHECK_MEM(body, len, "{\"uid\":\"monitor\",\"token\":\"t\",\"device_flag\":2,\"device_level\":0}", 62);
    CHECK_ST(rtm_wk_listener_deinit(&storage), RTM_OK);
}

/* Starts `path --post-webhooks base` with its stdout piped (for sim_finish). */
static int spawn_poster(sim_proc *p, const char *path, const char *base) {
    int fds[2];
    memset(p, 0, sizeof *p);
    if (pipe(fds) != 0) return -1;
    p->pid = fork();
    if (p->pid < 0) return -1;
    if (p->pid == 0) {
        char *argv[4];
        argv[0] = (char *)(uintptr_t)path;
        argv[1] = (char *)(uintptr_t)"--post-webhooks";
        argv[2] = (char *)(uintptr_t)base;
        argv[3] = NULL;
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(path, argv);
        _exit(127);
    }
    close(fds[1]);
    p->out = fds[0];
    return 0;
}

/* Reads one HTTP request (headers, then Content-Length bytes of body) into buf; returns the
 * body's offset and sets *body_len and the event query value, or -1. A test harness's reader,
 * not a general HTTP parser. */
static long read_request(int fd, char *buf, size_t cap, size_t *body_len, char *event, size_t event_cap) {
    size_t n = 0;
    long head_end = -1;
    size_t want = 0;
    uint64_t end = mono_ms() + 5000;
    while (mono_ms() < end) {
        struct pollfd pf;
        ssize_t r;
        pf.fd = fd;
        pf.events = POLLIN;
        pf.revents = 0;
        if (poll(&pf, 1, 50) <= 0) continue;
        r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0) return -1;
        n += (size_t)r;
        buf[n] = 0;
        if (head_end < 0) {
            char *h = strstr(buf, "\r\n\r\n");
            char *cl;
            if (!h) continue;
            head_end = (long)(h - buf) + 4;
            cl = strstr(buf, "Content-Length: ");
            if (!cl) cl = strstr(buf, "content-length: ");
            want = cl ? (size_t)strtoul(cl + 16, NULL, 10) : 0;
        }
        if (n >= (size_t)head_end + want) {
            char *q = strstr(buf, "event=");
            size_t i = 0;
            if (q) {
                q += 6;
                while (i + 1 < event_cap && q[i] && q[i] != ' ' && q[i] != '&') {
                    event[i] = q[i];
                    i++;
                }
            }
            event[i] = 0;
            *body_len = want;
            return head_end;
        }
    }
    return -1;
}

/* End to end over HTTP: `wukong-sim --post-webhooks` (the server's bodies, batching and
 * retries, over ureq) posts to a receiver written here on the C ABI; its first answer is 413
 * (a scratch too small) and the server retries. */
static void test_webhook_http(const char *sim_path) {
    static char req[65536];
    static uint8_t scratch[4096];
    seen s;
    uint8_t e[32] = {7};
    rtm_wk_config c;
    sim_proc p;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    char base[64];
    int lfd, one = 1, posts = 0;
    uint64_t start = mono_ms();
    check_group("webhook over HTTP");
    memset(&s, 0, sizeof s);
    s.self = &storage;
    events_seen = 0;
    c = config(&s, e);
    c.monitor.push_p2p_file = on_p2p_file;
    c.monitor.push_event = on_event;
    c.monitor.push_room_file = on_room_file;
    if (!CHECK_ST(rtm_wk_listener_init(&storage, sizeof storage, &c), RTM_OK)) return;
    CHECK_ST(rtm_wk_listen_set_all(&storage, true, true, true, true), RTM_OK);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!CHECK(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 8) == 0)) return;
    getsockname(lfd, (struct sockaddr *)&a, &alen);
    snprintf(base, sizeof base, "http://127.0.0.1:%d/hook", ntohs(a.sin_port));
    if (!CHECK(spawn_poster(&p, sim_path, base) == 0)) return;
    while (!sim_exited(&p) && mono_ms() - start < 30000) {
        struct pollfd pf;
        int fd;
        long at;
        size_t body_len = 0;
        char event[32];
        rtm_wk_webhook_result r;
        char resp[96];
        pf.fd = lfd;
        pf.events = POLLIN;
        pf.revents = 0;
        if (poll(&pf, 1, 20) <= 0) continue;
        fd = accept(lfd, NULL, NULL);
        if (fd < 0) continue;
        at = read_request(fd, req, sizeof req, &body_len, event, sizeof event);
        if (CHECK(at > 0)) {
            /* The first POST gets a scratch too small: 413, and the server retries. */
            CHECK_ST(rtm_wk_listener_webhook(&storage, mono_ms(), (rtm_str){(const uint8_t *)event, strlen(event)},
                                             (const uint8_t *)req + at, body_len, scratch, posts == 0 ? 16 : sizeof scratch,
                                             &r),
                     RTM_OK);
            snprintf(resp, sizeof resp, "HTTP/1.1 %u X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                     (unsigned)r.status);
            if (write(fd, resp, strlen(resp)) < 0) CHECK(0);
        }
        close(fd);
        posts++;
    }
    close(lfd);
    CHECK_EQ(sim_finish(&p, 5000), 0);
    CHECK_CSTR(p.line, "POSTS [[413, 200], [200], [200], [200]]");
    CHECK_EQ(posts, 5);
    /* The demo's six messages and the offline one, once each, and the two presence events. */
    CHECK_EQ(s.count, 7);
    if (s.count == 7) {
        CHECK_EQ(s.mids[0], 5000);
        CHECK_EQ(s.mids[5], 5005);
        CHECK_EQ(s.mids[6], 5100);
    }
    CHECK_EQ(events_seen, 2);
    CHECK_ST(rtm_wk_listener_deinit(&storage), RTM_OK);
}

int main(int argc, char **argv) {
    static const char *const plain[] = {"--plain", "--version", "6", NULL};
    static const char *const v3[] = {"--version", "3", NULL};
    if (argc < 2) {
        fprintf(stderr, "usage: %s WUKONG_SIM_BINARY\n", argv[0]);
        return 2;
    }
    test_arguments();
    test_webhook();
    test_webhook_http(argv[1]);
    test_session(argv[1], "session encrypted v5", NULL);
    test_session(argv[1], "session encrypted v3", v3);
    test_session(argv[1], "session plaintext v6", plain);
    return check_summary();
}
