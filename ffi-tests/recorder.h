/* A C monitor that records every callback (counts, order, copies of the arguments), for the
 * C tests. Optionally re-enters the listener from inside callbacks to check RTM_ERR_BUSY. */
#ifndef RTM_FFI_TESTS_RECORDER_H
#define RTM_FFI_TESTS_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rtm_listen.h"
#include "wire.h"

enum cb_id {
    CB_CONNECTED, /* connected(..., true, ...) */
    CB_CONNECT_FAILED, /* connected(..., false, ...) */
    CB_CLOSED,
    CB_P2P_MESSAGE,
    CB_GROUP_MESSAGE,
    CB_ROOM_MESSAGE,
    CB_P2P_FILE,
    CB_GROUP_FILE,
    CB_ROOM_FILE,
    CB_P2P_CHAT,
    CB_P2P_AUDIO,
    CB_P2P_CMD,
    CB_GROUP_CHAT,
    CB_GROUP_AUDIO,
    CB_GROUP_CMD,
    CB_ROOM_CHAT,
    CB_ROOM_AUDIO,
    CB_ROOM_CMD,
    CB_EVENT,
    CB_PING,
    CB_BROADCAST,
    CB_KICKOUT,
    CB_KICKOUT_ROOM,
    CB_COMPLETED,
    CB_RESTORED,
    CB_BAD_PUSH,
    CB_DISCONNECTED,
    NCB
};

/* The rtm_monitor field names, in cb_id order. */
static const char *const CB_NAMES[NCB] = {
    "connected",      "connect_failed",   "closed",          "push_p2p_message", "push_group_message",
    "push_room_message", "push_p2p_file", "push_group_file", "push_room_file",   "push_p2p_chat",
    "push_p2p_audio", "push_p2p_cmd",     "push_group_chat", "push_group_audio", "push_group_cmd",
    "push_room_chat", "push_room_audio",  "push_room_cmd",   "push_event",       "ping",
    "push_broadcast", "kickout",          "kickout_room",    "completed",        "restored",
    "bad_push",       "disconnected"};

static inline int cb_by_name(const char *name) {
    int i;
    for (i = 0; i < NCB; i++)
        if (strcmp(CB_NAMES[i], name) == 0) return i;
    return -1;
}

typedef struct sbuf {
    char b[320];
    size_t n;
} sbuf;

static inline void sb_set(sbuf *s, rtm_str v) {
    size_t n = v.len < sizeof s->b ? v.len : sizeof s->b;
    if (n) memcpy(s->b, v.ptr, n);
    s->n = n;
}

#define CHECK_SB(s, want) check_bytes((s).b, (s).n, (want), strlen(want), #s " == " #want, __FILE__, __LINE__)

typedef struct msg_copy {
    int64_t from_uid, to_id, mid, mtime;
    int mtype;
    sbuf message, attrs;
    bool has_tr;
    sbuf src_lang, tgt_lang, src_text, tgt_text;
    bool has_file;
    sbuf url, surl, language, custom;
    int64_t size, duration;
    bool audio, has_custom;
    rtm_info_status info_status;
    bool lazy;             /* the view said RTM_INFO_LAZY; the info came from rtm_message_info */
    bool accessor_agrees;  /* rtm_message_info returned the same info twice (and, when eager, what
                              the view holds) */
    /* full lengths and FNV-1a hashes (the sbufs keep 320 bytes) */
    size_t message_len, url_len, src_text_len, tgt_text_len;
    uint32_t message_hash, url_hash, src_text_hash, tgt_text_hash;
} msg_copy;

#define REC_LOG 512

typedef struct rec {
    long counts[NCB];
    int order[REC_LOG]; /* cb ids in call order */
    int64_t mids[REC_LOG]; /* message id of message callbacks, else 0 */
    size_t norder;
    msg_copy last[NCB]; /* last message per message callback */
    long null_ptrs;     /* rtm_str with ptr == NULL seen in callbacks (must stay 0) */
    /* connected/closed */
    sbuf endpoint;
    bool reconnect_flags[REC_LOG]; /* is_reconnect of each connected(true) */
    size_t nconnect;
    bool closed_by_error, closed_reconnect;
    /* push_event */
    int64_t ev_pid, ev_uid, ev_time;
    sbuf ev_event, ev_endpoint, ev_data;
    /* kickout_room */
    int64_t kick_rid;
    /* completed */
    uint32_t done_id;
    int64_t done_code;
    sbuf done_ex;
    int64_t done_codes[64];
    size_t ndone;
    /* restored */
    int64_t restored_code;
    int64_t restored_codes[16];
    size_t nrestored;
    /* bad_push */
    sbuf bad_method;
    int64_t bad_code;
    bool bad_twoway;
    uint32_t bad_seq;
    size_t bad_len;
    /* disconnected */
    sbuf disc_endpoint;
    rtm_close_reason disc_reason;
    uint64_t disc_retry;
    int disc_after; /* the callback just before it (CB_CONNECT_FAILED or CB_CLOSED) */
    /* re-entry: when `reenter` is set, callbacks call into it and keep the statuses */
    rtm_listener *reenter;
    rtm_status reenter_st[40];
    size_t nreenter;
} rec;

static inline void rec_log(rec *r, int cb, int64_t mid) {
    r->counts[cb]++;
    if (r->norder < REC_LOG) {
        r->order[r->norder] = cb;
        r->mids[r->norder] = mid;
        r->norder++;
    }
}

static inline void rec_str(rec *r, sbuf *dst, rtm_str s) {
    if (s.ptr == NULL) r->null_ptrs++;
    sb_set(dst, s);
}

/* Calls every listener function that takes the handle; each must answer RTM_ERR_BUSY. */
static inline void rec_reenter(rec *r) {
    rtm_listener *l = r->reenter;
    const uint8_t *data = NULL;
    size_t len = 0, consumed = 0;
    uint64_t at = 0;
    uint32_t id = 0;
    static const uint8_t byte[1] = {0};
    rtm_ids ids;
    size_t k = 0;
    if (!l) return;
    memset(&ids, 0, sizeof ids);
    r->reenter_st[k++] = rtm_listener_set_unix_time(l, 0, 0);
    r->reenter_st[k++] = rtm_listener_connected(l, 0, (rtm_str){byte, 0});
    {
        rtm_close_reason reason = rtm_close_reason_of(RTM_REASON_PEER_CLOSED);
        r->reenter_st[k++] = rtm_listener_connect_failed(l, 0, (rtm_str){byte, 0}, &reason);
        r->reenter_st[k++] = rtm_listener_closed(l, 0, &reason);
        r->reenter_st[k++] = rtm_listener_close_reason(l, &reason);
    }
    {
        rtm_stats stats;
        rtm_listen_state state;
        bool in_sync;
        size_t count;
        r->reenter_st[k++] = rtm_listener_stats(l, &stats);
        r->reenter_st[k++] = rtm_listener_in_sync(l, &in_sync);
        r->reenter_st[k++] = rtm_listener_pending_commands(l, &count);
        r->reenter_st[k++] = rtm_listener_listen_state(l, RTM_LISTEN_DESIRED, &state);
        r->reenter_st[k++] = rtm_listener_listen_ids(l, RTM_LISTEN_DESIRED, RTM_IDS_USER, NULL, 0, &count);
    }
    r->reenter_st[k++] = rtm_listener_receive(l, 0, byte, 1, &consumed);
    r->reenter_st[k++] = rtm_listener_handle_timeout(l, 0);
    r->reenter_st[k++] = rtm_listener_transmit(l, &data, &len);
    r->reenter_st[k++] = rtm_listener_transmit_done(l, 0);
    r->reenter_st[k++] = rtm_listener_next_timeout(l, &at);
    r->reenter_st[k++] = rtm_listener_reconnect_at(l, &at);
    r->reenter_st[k++] = rtm_listen_add(l, 0, &ids, &id);
    r->reenter_st[k++] = rtm_listen_remove(l, 0, &ids, &id);
    r->reenter_st[k++] = rtm_listen_set(l, 0, &ids, &id);
    r->reenter_st[k++] = rtm_listen_set_all(l, 0, true, true, true, true, &id);
    r->reenter_st[k++] = rtm_listener_deinit(l);
    r->nreenter = k;
    r->reenter = NULL; /* once */
}

static inline void rec_on_connected(void *u, rtm_str ep, bool ok, bool re) {
    rec *r = (rec *)u;
    rec_log(r, ok ? CB_CONNECTED : CB_CONNECT_FAILED, 0);
    rec_str(r, &r->endpoint, ep);
    if (ok && r->nconnect < REC_LOG) r->reconnect_flags[r->nconnect++] = re;
    rec_reenter(r);
}

static inline void rec_on_closed(void *u, rtm_str ep, bool by_error, bool re) {
    rec *r = (rec *)u;
    rec_log(r, CB_CLOSED, 0);
    rec_str(r, &r->endpoint, ep);
    r->closed_by_error = by_error;
    r->closed_reconnect = re;
    rec_reenter(r);
}

static inline void rec_info(rec *r, msg_copy *c, const rtm_translated_info *tr, const rtm_file_info *fi);

static inline void rec_message(void *u, const rtm_message *m, int cb) {
    rec *r = (rec *)u;
    msg_copy *c = &r->last[cb];
    rec_log(r, cb, m->message_id);
    memset(c, 0, sizeof *c);
    c->from_uid = m->from_uid;
    c->to_id = m->to_id;
    c->mid = m->message_id;
    c->mtime = m->modified_time;
    c->mtype = m->message_type;
    rec_str(r, &c->message, m->message);
    rec_str(r, &c->attrs, m->attrs);
    c->message_len = m->message.len;
    c->message_hash = fnv1a(m->message.ptr, m->message.len);
    {
        const rtm_translated_info *tr = m->translated_info, *tr2 = NULL;
        const rtm_file_info *fi = m->file_info, *fi2 = NULL;
        rtm_info_status st = m->info_status, st2;
        if (st == RTM_INFO_LAZY) {
            c->lazy = true;
            st = rtm_message_info(m, &tr, &fi);
        }
        st2 = rtm_message_info(m, &tr2, &fi2);
        c->accessor_agrees = st2 == st && tr2 == tr && fi2 == fi && st != RTM_INFO_LAZY;
        c->info_status = st;
        rec_info(r, c, tr, fi);
    }
    rec_reenter(r);
}

/* Copies a message's info (from the view, or from rtm_message_info). */
static inline void rec_info(rec *r, msg_copy *c, const rtm_translated_info *tr, const rtm_file_info *fi) {
    if (tr) {
        const rtm_translated_info *t = tr;
        c->has_tr = true;
        rec_str(r, &c->src_lang, t->source_language);
        rec_str(r, &c->tgt_lang, t->target_language);
        rec_str(r, &c->src_text, t->source_text);
        rec_str(r, &c->tgt_text, t->target_text);
        c->src_text_len = t->source_text.len;
        c->tgt_text_len = t->target_text.len;
        c->src_text_hash = fnv1a(t->source_text.ptr, t->source_text.len);
        c->tgt_text_hash = fnv1a(t->target_text.ptr, t->target_text.len);
    }
    if (fi) {
        const rtm_file_info *f = fi;
        c->has_file = true;
        rec_str(r, &c->url, f->url);
        rec_str(r, &c->surl, f->surl);
        rec_str(r, &c->language, f->language);
        rec_str(r, &c->custom, f->custom);
        c->url_len = f->url.len;
        c->url_hash = fnv1a(f->url.ptr, f->url.len);
        c->size = f->size;
        c->duration = f->duration;
        c->audio = f->is_rtm_audio;
        c->has_custom = f->has_custom;
    }
}

#define REC_MESSAGE_FN(name, id) \
    static inline void rec_on_##name(void *u, const rtm_message *m) { rec_message(u, m, id); }
REC_MESSAGE_FN(p2p_message, CB_P2P_MESSAGE)
REC_MESSAGE_FN(group_message, CB_GROUP_MESSAGE)
REC_MESSAGE_FN(room_message, CB_ROOM_MESSAGE)
REC_MESSAGE_FN(p2p_file, CB_P2P_FILE)
REC_MESSAGE_FN(group_file, CB_GROUP_FILE)
REC_MESSAGE_FN(room_file, CB_ROOM_FILE)
REC_MESSAGE_FN(p2p_chat, CB_P2P_CHAT)
REC_MESSAGE_FN(p2p_audio, CB_P2P_AUDIO)
REC_MESSAGE_FN(p2p_cmd, CB_P2P_CMD)
REC_MESSAGE_FN(group_chat, CB_GROUP_CHAT)
REC_MESSAGE_FN(group_audio, CB_GROUP_AUDIO)
REC_MESSAGE_FN(group_cmd, CB_GROUP_CMD)
REC_MESSAGE_FN(room_chat, CB_ROOM_CHAT)
REC_MESSAGE_FN(room_audio, CB_ROOM_AUDIO)
REC_MESSAGE_FN(room_cmd, CB_ROOM_CMD)
REC_MESSAGE_FN(broadcast, CB_BROADCAST)

static inline void rec_on_event(void *u, int64_t pid, rtm_str event, int64_t uid, int64_t time, rtm_str endpoint,
                                rtm_str data) {
    rec *r = (rec *)u;
    rec_log(r, CB_EVENT, 0);
    r->ev_pid = pid;
    r->ev_uid = uid;
    r->ev_time = time;
    rec_str(r, &r->ev_event, event);
    rec_str(r, &r->ev_endpoint, endpoint);
    rec_str(r, &r->ev_data, data);
    rec_reenter(r);
}

static inline void rec_on_ping(void *u) {
    rec *r = (rec *)u;
    rec_log(r, CB_PING, 0);
    rec_reenter(r);
}

static inline void rec_on_kickout(void *u) { rec_log((rec *)u, CB_KICKOUT, 0); }

static inline void rec_on_kickout_room(void *u, int64_t rid) {
    rec *r = (rec *)u;
    rec_log(r, CB_KICKOUT_ROOM, 0);
    r->kick_rid = rid;
}

static inline void rec_on_completed(void *u, uint32_t id, int64_t code, rtm_str ex) {
    rec *r = (rec *)u;
    rec_log(r, CB_COMPLETED, 0);
    r->done_id = id;
    r->done_code = code;
    rec_str(r, &r->done_ex, ex);
    if (r->ndone < 64) r->done_codes[r->ndone++] = code;
    rec_reenter(r);
}

static inline void rec_on_restored(void *u, int64_t code) {
    rec *r = (rec *)u;
    rec_log(r, CB_RESTORED, 0);
    r->restored_code = code;
    if (r->nrestored < 16) r->restored_codes[r->nrestored++] = code;
}

static inline void rec_on_bad_push(void *u, rtm_str method, int64_t code, bool twoway, uint32_t seq,
                                   size_t frame_len) {
    rec *r = (rec *)u;
    rec_log(r, CB_BAD_PUSH, 0);
    rec_str(r, &r->bad_method, method);
    r->bad_code = code;
    r->bad_twoway = twoway;
    r->bad_seq = seq;
    r->bad_len = frame_len;
}

static inline void rec_on_disconnected(void *u, rtm_str ep, const rtm_close_reason *reason, uint64_t retry_in_ms) {
    rec *r = (rec *)u;
    r->disc_after = r->norder > 0 ? r->order[r->norder - 1] : -1;
    rec_log(r, CB_DISCONNECTED, 0);
    rec_str(r, &r->disc_endpoint, ep);
    if (reason) r->disc_reason = *reason;
    else r->null_ptrs++;
    r->disc_retry = retry_in_ms;
}

static inline rtm_monitor rec_monitor(rec *r) {
    rtm_monitor m;
    memset(&m, 0, sizeof m);
    m.user = r;
    m.connected = rec_on_connected;
    m.closed = rec_on_closed;
    m.push_p2p_message = rec_on_p2p_message;
    m.push_group_message = rec_on_group_message;
    m.push_room_message = rec_on_room_message;
    m.push_p2p_file = rec_on_p2p_file;
    m.push_group_file = rec_on_group_file;
    m.push_room_file = rec_on_room_file;
    m.push_p2p_chat = rec_on_p2p_chat;
    m.push_p2p_audio = rec_on_p2p_audio;
    m.push_p2p_cmd = rec_on_p2p_cmd;
    m.push_group_chat = rec_on_group_chat;
    m.push_group_audio = rec_on_group_audio;
    m.push_group_cmd = rec_on_group_cmd;
    m.push_room_chat = rec_on_room_chat;
    m.push_room_audio = rec_on_room_audio;
    m.push_room_cmd = rec_on_room_cmd;
    m.push_event = rec_on_event;
    m.ping = rec_on_ping;
    m.push_broadcast = rec_on_broadcast;
    m.kickout = rec_on_kickout;
    m.kickout_room = rec_on_kickout_room;
    m.completed = rec_on_completed;
    m.restored = rec_on_restored;
    m.bad_push = rec_on_bad_push;
    m.disconnected = rec_on_disconnected;
    return m;
}

/* Total message callbacks (the 15 official ones plus broadcast). */
static inline long rec_messages(const rec *r) {
    long n = 0;
    int i;
    for (i = CB_P2P_MESSAGE; i <= CB_ROOM_CMD; i++) n += r->counts[i];
    return n + r->counts[CB_BROADCAST];
}

#endif
