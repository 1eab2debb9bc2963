/* A fixed-work loop for callgrind: one push per iteration through the C ABI
 * (rtm_listener_receive, the message callback with its view, the answer taken with
 * rtm_listener_transmit / rtm_listener_transmit_done), with a fresh mid each time so the
 * duplicate filter sees new messages (and, after 128, evicts as in steady state).
 *
 * The loop does the work of the Rust loop it is compared with (ListenerBench::push in
 * crates/bench/src/lib.rs) and no more, so that the difference per push is the C ABI's: the new
 * mid goes into the frame as one big-endian 8-byte store (put_be64: gcc merges the byte stores
 * into bswap + mov), the callback counts the message, and each call's status is checked with a
 * compare and a branch (the Rust loop's unwrap-free calls have nothing to check).
 * usage: push ITERATIONS [eager|lazy] [chat|file] [pull|push]   (scripts/bench.sh subtracts
 * the 0-iteration run; `lazy` sets rtm_config.lazy_info and the callback does not ask for the
 * JSON info; `file` pushes the benchmark crate's 246-byte audio file message instead of the
 * chat; `push` sets rtm_config.transport.send, a transport that takes every byte, and the loop
 * makes one call per push, rtm_listener_receive, instead of three) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtm_listen.h"

/* The benchmark crate's pushmsg chat frame (crates/bench/src/lib.rs PUSHMSG_CHAT_HEX). */
static const char HEX[] =
    "46504e4e008001074300000065000000707573686d736787a466726f6dcd03e9a2746fcd03eaa36d6964cf"
    "17979cfe3d7ed4c1a56d747970651ea36d7367a568656c6c6fa56174747273a0a56d74696d65cf0000018b"
    "cfe569c8";

/* The benchmark crate's pushroommsg audio file frame (crates/bench/src/lib.rs
 * pushroommsg_file, 246 bytes). */
static const char FILE_HEX[] =
    "46504e4e0180010bdb0000006700000070757368726f6f6d6d736787a466726f6dcd03e9a3726964cd0bb9a3"
    "6d6964cf17979cfe3d7ed4c3a56d7479706529a36d7367d9337b2275726c223a2268747470733a2f2f662e65"
    "78616d706c652e636f6d2f31372e616d72222c2273697a65223a32333435367da56174747273d9677b227274"
    "6d223a7b2274797065223a22617564696f6d7367222c226c616e67223a22656e222c226475726174696f6e22"
    "3a353132302c22636f646563223a22616d722d7762222c227372617465223a31363030307d2c22637573746f"
    "6d223a7b226b223a317d7da56d74696d65cf0000018bcfe569ca";

static unsigned long chats;
static unsigned long sent;

/* The push-mode transport: takes everything (the pull loop's transmit_done does the same). */
static size_t on_send(void *user, const uint8_t *data, size_t len) {
    (void)user;
    (void)data;
    sent += len;
    return len;
}

/* Big-endian, as the frame's uint64 mid; one bswap and one store at -O2. */
static void put_be64(uint8_t *p, uint64_t v) {
    p[0] = (uint8_t)(v >> 56);
    p[1] = (uint8_t)(v >> 48);
    p[2] = (uint8_t)(v >> 40);
    p[3] = (uint8_t)(v >> 32);
    p[4] = (uint8_t)(v >> 24);
    p[5] = (uint8_t)(v >> 16);
    p[6] = (uint8_t)(v >> 8);
    p[7] = (uint8_t)v;
}

static void on_message(void *user, const rtm_message *m) {
    (void)user;
    chats += m->message_id != 0;
}

int main(int argc, char **argv) {
    static rtm_listener l;
    static uint8_t frame[sizeof FILE_HEX / 2];
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 0, i;
    int file = argc > 3 && strcmp(argv[3], "file") == 0;
    int push = argc > 4 && strcmp(argv[4], "push") == 0;
    const char *hex = file ? FILE_HEX : HEX;
    size_t len = strlen(hex) / 2, mid_at = 0, k, consumed;
    rtm_config cfg;
    for (k = 0; k < len; k++) {
        unsigned int b;
        sscanf(hex + 2 * k, "%2x", &b);
        frame[k] = (uint8_t)b;
    }
    for (k = 0; k + 5 < len; k++) {
        if (memcmp(frame + k, "\xa3mid\xcf", 5) == 0) mid_at = k + 5;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.pid = 80000071;
    cfg.secret.ptr = (const uint8_t *)"secret";
    cfg.secret.len = 6;
    cfg.entropy = 0x12345678;
    cfg.monitor.push_p2p_chat = on_message;
    cfg.monitor.push_room_file = on_message;
    cfg.lazy_info = argc > 2 && strcmp(argv[2], "lazy") == 0;
    if (push) cfg.transport.send = on_send;
    if (mid_at == 0 || rtm_listener_init(&l, sizeof l, &cfg) != RTM_OK) return 2;
    rtm_listener_set_unix_time(&l, 0, 1700000000000);
    rtm_listener_connected(&l, 0, (rtm_str){(const uint8_t *)"bench", 5});
    for (i = 1; i <= n; i++) {
        const uint8_t *out;
        size_t out_len;
        put_be64(frame + mid_at, i);
        if (rtm_listener_receive(&l, i, frame, len, &consumed) != RTM_OK || consumed != len) return 3;
        if (push) continue;
        if (rtm_listener_transmit(&l, &out, &out_len) != RTM_OK) return 4;
        if (rtm_listener_transmit_done(&l, out_len) != RTM_OK) return 6;
    }
    if (chats != n || (push && sent != 17 * n)) return 5;
    printf("%lu chats\n", chats);
    return 0;
}
