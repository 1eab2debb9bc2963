#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/seeds/<target>/ from the recorded vectors
(tests/vectors/rtm-python-sdk.json) and the worked examples of the protocol reference (§11).

Each target's input layout is documented at the top of its fuzz_targets/<target>.rs; the
encodings below follow it byte for byte. Run from anywhere: python3 fuzz/gen_seeds.py
"""
import json
import re
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEEDS = os.path.join(HERE, "seeds")

vectors = json.load(open(os.path.join(ROOT, "tests", "vectors", "rtm-python-sdk.json")))

# Reference §11 worked examples, as the repository's tests hold them (tests/worked_examples.rs).
EXAMPLES = {
    name.lower(): re.sub(r"\s", "", h)
    for name, h in re.findall(r'const (EX\w+): &str =\s*"([0-9a-f ]+)";',
                              open(os.path.join(ROOT, "tests", "worked_examples.rs")).read())
}
assert len(EXAMPLES) == 7, EXAMPLES.keys()


def frames():
    """(name, bytes) of every recorded or worked-example frame."""
    out = []
    for group in ("server_to_sdk", "sdk_to_server", "sdk_answers_to_pushes"):
        for name, v in vectors[group].items():
            out.append((f"{group}_{name}", bytes.fromhex(v["hex"])))
    for name, h in EXAMPLES.items():
        out.append((name, bytes.fromhex(h)))
    return out


def split(frame):
    """(kind, method, status, payload) of one frame."""
    mtype, ss = frame[6], frame[7]
    psize = struct.unpack("<I", frame[8:12])[0]
    if mtype == 2:
        return "answer", b"", ss, frame[16:16 + psize]
    at = 12 if mtype == 0 else 16
    return "quest", frame[at:at + ss], 0, frame[at + ss:at + ss + psize]


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    fs = frames()
    for name, f in fs:
        assert f[:4] == b"FPNN", name
        psize = struct.unpack("<I", f[8:12])[0]
        kind, method, _, payload = split(f)
        assert len(payload) == psize, (name, len(payload), psize)

    # frame_reader: [api] [buffer size] [max frame] [k] [k chunk sizes] stream
    stream = b"".join(f for _, f in fs)
    pushes = b"".join(f for n, f in fs if n.startswith("server_to_sdk") or n == "ex3")
    write("frame_reader", "all_api0_bytewise", bytes([0, 255, 0, 0, 0]) + stream)
    write("frame_reader", "all_api1_window", bytes([1, 255, 0, 2, 6, 40, 200]) + stream)
    write("frame_reader", "pushes_api2_peek", bytes([2, 8, 0, 1, 127]) + pushes)
    write("frame_reader", "pushes_api3_walk", bytes([3, 20, 0, 3, 3, 129, 50]) + pushes)
    write("frame_reader", "small_buffer_too_large", bytes([0, 2, 0, 1, 20]) + pushes)
    for name, f in fs:
        write("frame_reader", f"one_{name}", bytes([0, 255, 0, 1, 16]) + f)
    # Skip mode (api | 4): frames longer than the buffer (144 bytes) stepped over between
    # pushes: a twoway push, an answer, then one announcing more than 8 MiB.
    def big(mtype, method, psize, seq=7):
        head = b"FPNN" + bytes([1, 0x80, mtype, len(method) if mtype != 2 else 1])
        head += struct.pack("<I", psize) + (struct.pack("<I", seq) if mtype else b"")
        return head + (method if mtype != 2 else b"")
    skipped = (pushes + big(1, b"pushmsg", 300) + bytes(300) + pushes + big(2, b"", 400)
               + bytes(400) + pushes + big(0, b"m" * 200, 9 << 20))
    write("frame_reader", "skip_api3_walk", bytes([3 | 4, 8, 0, 2, 7, 64]) + skipped)
    write("frame_reader", "skip_api1_window", bytes([1 | 4, 8, 0, 1, 129]) + skipped)
    write("frame_reader", "skip_api0_cut_method", bytes([0 | 4, 0, 0, 1, 5]) + skipped)

    # msgpack: [k] [k op bytes] msgpack data
    all_ops = bytes(range(16))
    for name, f in fs:
        _, _, _, payload = split(f)
        write("msgpack", f"skip_{name}", bytes([0]) + payload)
        write("msgpack", f"ops_{name}", bytes([len(all_ops)]) + all_ops + payload)
    # Integer encodings of reference §11 example 7 and nested containers.
    write("msgpack", "ints_ex7", bytes([4, 0, 1, 2, 5]) + bytes.fromhex("ce04c4b447d204c4b447ccc8d100c8"))
    write("msgpack", "nested", bytes([1, 15]) + bytes([0x91] * 33) + b"\x01")

    # decode: [selector] [method, sel 8] [status, sel 9] payload
    methods = ["pushmsg", "pushgroupmsg", "pushroommsg", "pushbroadcastmsg", "pushevent", "ping",
               "kickout", "kickoutroom"]
    for name, f in fs:
        kind, method, status, payload = split(f)
        if kind == "answer":
            write("decode", f"answer_{name}", bytes([9, status]) + payload)
            write("decode", f"answer_err_{name}", bytes([9, 1]) + payload)
        elif method.decode() in methods:
            write("decode", f"push_{name}", bytes([methods.index(method.decode())]) + payload)
        else:
            write("decode", f"named_{name}", bytes([8, len(method)]) + method + payload)
    # A pushmsg payload decoded as every other method.
    _, _, _, pm = split(dict(fs)["ex3"])
    for i in range(8):
        write("decode", f"ex3_as_{methods[i]}", bytes([i]) + pm)

    # listener: [entropy u32] then ops (opcode byte % 16, then the op's fields).
    CONNECT, CONNECT_FAILED, CLOSE, ANSWER, DELIVER, TICK, COMMAND = 0, 1, 2, 4, 6, 7, 8
    TRANSMIT, DELIVER_ALL, RECORDED, ROUND_TRIP, FULL_DRAIN, TICK_TO_DEADLINE = 9, 11, 12, 13, 14, 15
    BIG = 5 | 0x10
    ent = struct.pack("<I", 0x12345678)

    def big_piece(kind, size, extra=0, method=0, pick=0, status=0, raw_seq=0):
        """A frame larger than RX: kind 0 oneway, 1 twoway, 2 answer; size 0 RX + 1, 3 about
        64 KiB, 5 exactly 8 MiB, 6 one byte over; method 4 is 255 bytes long."""
        return (bytes([BIG, kind, size]) + struct.pack("<H", extra) + bytes([method, pick, status])
                + struct.pack("<H", raw_seq))

    def recorded(i):
        return bytes([RECORDED, i])

    # Every recorded push twice (duplicates), delivered in 7-byte chunks, then drained.
    s = ent + bytes([CONNECT])
    for i in range(6):
        s += recorded(i) + recorded(i)
    s += bytes([DELIVER]) + struct.pack("<H", 7)
    s += bytes([DELIVER | 0x10]) + struct.pack("<H", 300)
    s += bytes([DELIVER_ALL, FULL_DRAIN])
    write("listener", "recorded_twice", s)

    # A command, the transport takes it, the server answers OK, then a reconnect restores it.
    cmd_add = bytes([COMMAND, 0, 2, 3, 1, 3])  # addlisten: gids, rids, uids (small), events login+logout
    s = ent + bytes([CONNECT]) + cmd_add + bytes([TRANSMIT]) + struct.pack("<H", 0xffff)
    s += bytes([ANSWER, 0, 1, 0]) + struct.pack("<H", 0) + bytes([DELIVER_ALL, FULL_DRAIN])
    s += bytes([CLOSE, CONNECT, TRANSMIT]) + struct.pack("<H", 0xffff)
    s += bytes([ANSWER, 0, 1, 0]) + struct.pack("<H", 0) + bytes([DELIVER_ALL])
    s += recorded(0) + recorded(1) + bytes([DELIVER_ALL, FULL_DRAIN])
    write("listener", "command_answer_reconnect", s)

    # Idle: keepalive ping, its answer, then a dead link.
    s = ent + bytes([CONNECT, TICK, 6, TRANSMIT]) + struct.pack("<H", 0xffff)
    s += bytes([ANSWER, 0, 1, 2]) + struct.pack("<H", 0) + bytes([DELIVER_ALL, FULL_DRAIN])
    s += bytes([TICK, 11, TICK, 11, TICK_TO_DEADLINE, CLOSE, TICK_TO_DEADLINE, CONNECT])
    write("listener", "keepalive_deadlink", s)

    # Generated pushes of each method through PushRoundTrip (fields as gen_push reads them:
    # sel, seq, int_sel, shape, then the method's own bytes).
    per_method = {0: 6, 1: 6, 2: 6, 3: 6, 4: 1, 5: 0, 6: 0, 7: 1, 8: 0, 9: 0}
    s = ent + bytes([CONNECT])
    for which in range(10):
        s += bytes([ROUND_TRIP, which, which, 0, 0]) + bytes([1, 1, 2, 0, 0, 0][:per_method[which]])
    s += bytes([ROUND_TRIP, 10, 10, 0, 0, 3]) + b"abcd" + bytes([2, 0x80, 0xc1])
    s += bytes([FULL_DRAIN, TICK, 14, FULL_DRAIN])
    write("listener", "generated_each_method", s)

    # Backpressure: many pushes, the transport takes 5 bytes at a time.
    s = ent + bytes([CONNECT])
    for i in range(40):
        s += recorded(i % 4)
    s += bytes([DELIVER_ALL])
    for _ in range(30):
        s += bytes([TRANSMIT]) + struct.pack("<H", 5) + bytes([DELIVER_ALL])
    s += bytes([FULL_DRAIN])
    write("listener", "backpressure", s)

    # Oversized frames between pushes: twoway just over RX, oneway of 64 KiB in 1000-byte
    # pieces, exactly 8 MiB, an oversized answer to a listen quest, then one byte over 8 MiB.
    s = ent + bytes([CONNECT]) + big_piece(1, 0) + recorded(0) + bytes([DELIVER_ALL, FULL_DRAIN])
    s += big_piece(0, 3, extra=100, method=1) + recorded(1)
    for _ in range(8):
        s += bytes([DELIVER]) + struct.pack("<H", 1000)
    s += bytes([DELIVER_ALL, FULL_DRAIN])
    s += big_piece(1, 5, method=2) + recorded(2) + bytes([DELIVER_ALL, FULL_DRAIN])
    s += cmd_add + bytes([TRANSMIT]) + struct.pack("<H", 0xffff)
    s += big_piece(2, 0, pick=0, status=0) + recorded(3) + bytes([DELIVER_ALL, FULL_DRAIN])
    s += big_piece(1, 6) + recorded(0) + bytes([DELIVER_ALL, FULL_DRAIN, CLOSE])
    write("listener", "oversized", s)

    # RX of 128 bytes (entropy 0xf040....): recorded pushes too large for it, in 7-byte pieces
    # and through the window, then a 255-byte method cut at RX.
    s = struct.pack("<I", 0xF0402345) + bytes([CONNECT])
    for i in range(6):
        s += recorded(i)
    s += bytes([DELIVER]) + struct.pack("<H", 7) + bytes([DELIVER | 0x10]) + struct.pack("<H", 300)
    s += bytes([DELIVER_ALL, FULL_DRAIN]) + big_piece(1, 7, extra=50, method=4) + recorded(5)
    s += bytes([DELIVER_ALL, FULL_DRAIN])
    write("listener", "oversized_small_rx", s)

    # A refused listen quest stalls the sync; the next command restarts it, answered OK.
    s = ent + bytes([CONNECT]) + cmd_add + bytes([TRANSMIT]) + struct.pack("<H", 0xffff)
    s += bytes([ANSWER, 0, 5, 3]) + struct.pack("<H", 0) + bytes([DELIVER_ALL, FULL_DRAIN])
    s += bytes([COMMAND, 1, 2, 0, 0, 1, TRANSMIT]) + struct.pack("<H", 0xffff)
    s += bytes([ANSWER, 1, 1, 0]) + struct.pack("<H", 0) + bytes([DELIVER_ALL, FULL_DRAIN])
    write("listener", "refusal_then_command", s)

    # Close and connect-failure reasons (reason = opcode byte >> 4), commands kept across them.
    s = ent + cmd_add
    for r in range(12):
        s += bytes([CONNECT_FAILED | (r << 4)])
    s += bytes([CONNECT, TRANSMIT]) + struct.pack("<H", 0xffff)
    for r in range(12):
        s += bytes([CLOSE | (r << 4), CONNECT | (r & 1) << 4])
    s += bytes([TICK, 8, TRANSMIT]) + struct.pack("<H", 0xffff)
    s += bytes([ANSWER, 0, 1, 0]) + struct.pack("<H", 0) + bytes([DELIVER_ALL, FULL_DRAIN])
    write("listener", "reasons", s)

    # listener_enc: [entropy u32][cfg][*key answer policy: first connection, later ones], then
    # the listener's ops, each op that queues server bytes (answer, big, raw, recorded, round
    # trip) followed by a shape byte (0: as the server sends it). cfg: curve (0 secp192r1,
    # 5 secp224r1, 6 secp256k1, 7 secp256r1) | 8 stream mode (else package) | 16 AES-256.
    # Policies: 0 OK, 0xa0 | x an error answer, 0xe0 silence.
    P192, P224, K1, R1, STREAM, AES256 = 0, 5, 6, 7, 8, 16
    PLAIN, UNENCRYPTED, SPLIT, BOGUS = 0, 0xE0, 0xE8, 0xF0

    def enc(cfg, p0=0, p1=0, e=ent):
        return e + bytes([cfg, p0, p1])

    def rec(i, shape=PLAIN):
        return recorded(i) + bytes([shape])

    def answer(pick, status=1, payload=0, shape=PLAIN):
        return bytes([ANSWER, pick, status, payload]) + struct.pack("<H", 0) + bytes([shape])

    take_all = bytes([TRANSMIT]) + struct.pack("<H", 0xFFFF)
    # The key exchange (the *key quest taken, the server's answer delivered), then a command,
    # its listen quest taken and answered (pick 1: the quest after *key).
    handshake = bytes([CONNECT]) + take_all + bytes([DELIVER_ALL, FULL_DRAIN])
    for cfg, name in [(K1, "k1_package"), (R1 | STREAM, "r1_stream"),
                      (P224 | AES256, "p224_package_aes256"), (P192 | STREAM | AES256, "p192_stream_aes256")]:
        s = enc(cfg) + handshake + cmd_add + take_all + answer(1) + bytes([DELIVER_ALL, FULL_DRAIN])
        for i in range(6):
            s += rec(i) + rec(i)
        s += bytes([DELIVER]) + struct.pack("<H", 7) + bytes([DELIVER | 0x10]) + struct.pack("<H", 300)
        s += bytes([DELIVER_ALL, FULL_DRAIN])
        # A reconnect restores the listen state after a new key exchange.
        s += bytes([CLOSE]) + handshake + answer(1) + bytes([DELIVER_ALL, FULL_DRAIN])
        write("listener_enc", f"session_{name}", s)

    # Generated pushes of each method (as in the plaintext seed), stream and package.
    for cfg, name in [(P192, "package"), (P192 | STREAM, "stream")]:
        s = enc(cfg) + handshake
        for which in range(10):
            s += bytes([ROUND_TRIP, which, which, 0, 0]) + bytes([1, 1, 2, 0, 0, 0][:per_method[which]]) + bytes([PLAIN])
        s += bytes([FULL_DRAIN, TICK, 14, FULL_DRAIN])
        write("listener_enc", f"generated_each_method_{name}", s)

    # The server refuses *key (error answers), stays silent (the key timeout), then accepts.
    s = enc(P192, 0xA1, 0) + cmd_add + bytes([CONNECT, DELIVER_ALL, FULL_DRAIN, CLOSE])
    s += bytes([CONNECT, DELIVER_ALL, FULL_DRAIN]) + take_all + answer(1) + bytes([DELIVER_ALL, FULL_DRAIN])
    write("listener_enc", "key_refused_then_ok", s)
    s = enc(K1 | STREAM, 0xE0, 0xC5) + cmd_add + bytes([CONNECT]) + take_all
    s += bytes([TICK, 8, TICK, 9, FULL_DRAIN, CLOSE, CONNECT, DELIVER_ALL, FULL_DRAIN])
    write("listener_enc", "key_timeout_then_odd_ok", s)
    # Silence, then the input's own answer to *key (pick 0), a second one, then a ping.
    s = enc(P224, 0xE0) + bytes([CONNECT]) + take_all + answer(0, 1) + bytes([DELIVER_ALL])
    s += answer(0, 5, 3) + bytes([DELIVER_ALL, FULL_DRAIN, TICK, 6]) + take_all + answer(0, 1, 2)
    s += bytes([DELIVER_ALL, FULL_DRAIN, TICK, 11, TICK_TO_DEADLINE])
    write("listener_enc", "key_answered_by_input_keepalive", s)

    # Package shapes after a good exchange: a split frame, bogus lengths, an unencrypted piece;
    # each breaks the stream after the frames before it.
    for shape, name in [(SPLIT | 3, "split_at_12"), (SPLIT | 6, "split_half"), (BOGUS | 4, "bogus_minus_1"),
                        (BOGUS | 0, "bogus_zero"), (BOGUS | 9, "bogus_over_8mib"), (UNENCRYPTED, "unencrypted")]:
        s = enc(P192) + handshake + rec(0) + rec(1) + rec(2, shape) + rec(3) + bytes([DELIVER_ALL, FULL_DRAIN, CLOSE])
        write("listener_enc", f"package_{name}", s)
    # The same with the transmit queue full (frames blocked before the broken package).
    s = struct.pack("<I", 0x1A345678) + bytes([P192, 0, 0]) + handshake
    for i in range(40):
        s += rec(i % 4)
    s += rec(0, BOGUS | 5) + bytes([DELIVER_ALL])
    for _ in range(30):
        s += bytes([TRANSMIT]) + struct.pack("<H", 5) + bytes([DELIVER_ALL])
    s += bytes([FULL_DRAIN])
    write("listener_enc", "package_backpressure_then_bad_package", s)
    # Stream mode: an unencrypted piece desynchronises the stream.
    s = enc(P192 | STREAM) + handshake + rec(0) + rec(1, UNENCRYPTED) + rec(2) + bytes([DELIVER_ALL, FULL_DRAIN])
    write("listener_enc", "stream_unencrypted_piece", s)

    # Oversized frames, package and stream (the 8 MiB one only in package mode), small RX.
    for cfg, name in [(P192, "package"), (P192 | STREAM, "stream")]:
        s = enc(cfg) + handshake + big_piece(1, 0) + bytes([PLAIN]) + rec(0) + bytes([DELIVER_ALL, FULL_DRAIN])
        s += big_piece(0, 3, extra=100, method=1) + bytes([PLAIN]) + rec(1)
        for _ in range(8):
            s += bytes([DELIVER]) + struct.pack("<H", 1000)
        s += bytes([DELIVER_ALL, FULL_DRAIN])
        s += cmd_add + take_all + big_piece(2, 0, pick=1, status=0) + bytes([PLAIN]) + rec(3)
        s += bytes([DELIVER_ALL, FULL_DRAIN]) + big_piece(1, 6) + bytes([PLAIN]) + rec(0) + bytes([DELIVER_ALL, FULL_DRAIN, CLOSE])
        write("listener_enc", f"oversized_{name}", s)
    s = enc(P192, e=struct.pack("<I", 0xF0402345)) + handshake
    for i in range(6):
        s += rec(i)
    s += bytes([DELIVER]) + struct.pack("<H", 7) + bytes([DELIVER | 0x10]) + struct.pack("<H", 300)
    s += bytes([DELIVER_ALL, FULL_DRAIN]) + big_piece(1, 7, extra=50, method=4) + bytes([PLAIN]) + rec(5)
    s += big_piece(0, 5, method=2) + bytes([PLAIN]) + rec(4) + bytes([DELIVER_ALL, FULL_DRAIN])
    write("listener_enc", "oversized_small_rx_package", s)

    wukong_seeds()
    wukong_listener_seeds()
    wukong_webhook_seeds()


# WuKongIM (target `wukong`): [version byte] [chunk size] stream, the stream made of the
# reference's golden vectors (protocol/wukongim.md §b).
WUKONG_VECTORS = {
    "connack_v5": "21 16 05 fffffffffffffff1 01 0000 0000 0000000000000001",
    "recv_v5": "52 43 00 0000 0005 616c696365 0002 6731 02 00000000 0005 636d6e2d31 0000011f71fb04cb 00000007 6553f100 7b2274797065223a312c22636f6e74656e74223a226869227d",
    "recv_v6": "52 47 00 0000 0005 616c696365 0002 6731 02 00000000 0005 636d6e2d31 0000011f71fb04cb 0000000000000007 6553f100 7b2274797065223a312c22636f6e74656e74223a226869227d",
    "pong": "80",
    "disconnect_kick": "90 18 0c 0015 6c6f67696e20696e206f7468657220646576696365",
    "suback": "b0 0d 0004 73756231 0002 6731 02 00 01",
    "recv_v3_topic": "50 2c 08 0000 0001 61 0001 62 01 0000003c 0001 63 0000000000000009 0000000b 00000064 0002 7470 7061796c6f6164",
    "recv_v2_stream": "50 31 02 0000 0001 61 0001 62 02 0001 63 05 0002 736e 0000000000000003 0000000000000009 0000000b 00000064 7061796c6f6164",
}


def wukong_seeds():
    unhex = lambda h: bytes.fromhex(h.replace(" ", ""))
    versions = {"connack_v5": 3, "recv_v5": 3, "recv_v6": 4, "recv_v3_topic": 1, "recv_v2_stream": 0}
    for name, h in WUKONG_VECTORS.items():
        v = versions.get(name, 3)
        write("wukong", name, bytes([v, 255]) + unhex(h))
        write("wukong", name + "_bytewise", bytes([v, 1]) + unhex(h))
    every = b"".join(unhex(h) for h in WUKONG_VECTORS.values())
    write("wukong", "all_v5_chunks_7", bytes([3, 7]) + every)

def wukong_listener_seeds():
    """[version byte] ops: 0 n bytes (feed), 1 k (send 4k), 2 t (time), 3 (reconnect)."""
    unhex = lambda h: bytes.fromhex(h.replace(" ", ""))
    recv5 = unhex(WUKONG_VECTORS["recv_v5"])
    recv6 = unhex(WUKONG_VECTORS["recv_v6"])

    def feed(b):
        out = b""
        while b:
            out += bytes([0, min(len(b), 255)]) + b[:255]
            b = b[255:]
        return out

    # A RECV, its re-send, sent, time, a reconnect, the RECV again, a PONG, a kick.
    ops = feed(recv5) + feed(recv5) + bytes([1, 255, 2, 50]) + bytes([3]) + feed(recv5)
    ops += feed(unhex(WUKONG_VECTORS["pong"])) + feed(unhex(WUKONG_VECTORS["disconnect_kick"]))
    write("wukong_listener", "v5_recv_dup_reconnect_kick", bytes([3]) + ops)
    write("wukong_listener", "v6_recv", bytes([4]) + feed(recv6) + bytes([1, 5, 2, 255, 2, 255]))
    # Three RECVs in one feed with TX never drained: backpressure.
    many = b"".join(recv5[:28] + struct.pack(">Q", 1000 + i) + recv5[36:] for i in range(3))
    write("wukong_listener", "v5_three_ids_bytewise", bytes([3]) + b"".join(bytes([0, 1, c]) for c in many))
    write("wukong_listener", "v5_ping_timeouts", bytes([3]) + bytes([2, 255] * 4) + bytes([1, 255]))


def wukong_webhook_seeds():
    """[event byte] [scratch byte] body (the reference's fixtures)."""
    notify = open(os.path.join(ROOT, "tests", "wukong_webhook.rs")).read()
    ref = re.search(r'const REFERENCE_NOTIFY: &str = r#"(.*?)"#;', notify, re.S).group(1)
    write("wukong_webhook", "notify_reference", bytes([0, 63]) + ref.encode())
    write("wukong_webhook", "notify_small_scratch", bytes([0, 1]) + ref.encode())
    first = ref.split("\n")[0].rstrip(",")[1:]
    write("wukong_webhook", "offline", bytes([1, 63]) + (first[:-1] + ',"to_uids":["bob"]}').encode())
    write("wukong_webhook", "presence", bytes([2, 15]) + b'["alice-1-1-42-1-2","bo-b-0-0-17-0-1"]')


if __name__ == "__main__":
    main()
