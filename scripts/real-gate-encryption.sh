#!/usr/bin/env bash
# The listen example against the official FPNN C++ server (../shared/tools/fpnn-gate, built with
# its build.sh) with FPNN encryption on: every curve x both modes x both AES key sizes, one gate
# per combination on its own port, all at once. Each run must connect, do the key exchange,
# confirm the listens, receive the gate's push script, survive the gate's close after 24 s
# idle (the keepalive `*ping` fires meanwhile), exchange a new key and restore the listens.
#
#   scripts/real-gate-encryption.sh GATE_OUT_DIR [FIRST_PORT]
#
# Not part of the test command (it needs the FPNN build, ~7 min); results go in RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
OUT=${1:?usage: real-gate-encryption.sh GATE_OUT_DIR [FIRST_PORT]}
port=${2:-14400}
start=../shared/tools/fpnn-gate/start.sh
logs=$(mktemp -d)

cargo build -q --features std,encryption --example listen
bin=$TGT/debug/examples/listen

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

runs=()
for curve in secp256k1 secp256r1 secp224r1 secp192r1; do
    # Keys are made on the curve's first start; start it alone.
    for mode in package stream; do
        for bits in 128 256; do
            bash "$start" "$OUT" "$port" "$curve" >"$logs/gate-$port.log" 2>&1 &
            pids+=($!)
            runs+=("$port $curve $mode $bits")
            port=$((port + 1))
            sleep 1
        done
    done
done
sleep 2

step "16 encrypted runs against the official FPNN server, 40 s each, in parallel"
for r in "${runs[@]}"; do
    read -r p curve mode bits <<<"$r"
    flags=(--server-key "$OUT/keys/$curve-public.pem")
    [[ $mode == stream ]] && flags+=(--stream)
    [[ $bits == 256 ]] && flags+=(--aes256)
    "$bin" --endpoint "127.0.0.1:$p" --pid 11000001 --secret s3cr3t --gids 2001 --rids 3001 \
        --uids 1001 --events login --seconds 40 "${flags[@]}" >"$logs/listen-$p.log" 2>&1 &
done
wait_listen() { while pgrep -f "$bin --endpoint 127.0.0.1:" >/dev/null; do sleep 1; done; }
sleep 41
wait_listen

printf '%-10s %-8s %-5s %-6s %-9s %-7s %-8s %s\n' curve mode bits pushes bad_push restored reconn result
fail=0
for r in "${runs[@]}"; do
    read -r p curve mode bits <<<"$r"
    l="$logs/listen-$p.log" g="$logs/gate-$p.log"
    pushes=$(grep -cE '^(pushP2P|pushGroup|pushRoom|pushEvent|ping )' "$l" || true)
    bad=$(grep -c '^badPush' "$l" || true)
    restored=$(grep -c 'RESTORATION on conn#2 OK' "$g" || true)
    reconn=$(grep -c 'isReconnect=true' "$l" || true)
    ok=FAIL
    # The gate's script: 7 deliverable pushes (chat, cmd, audio file, login event, ping, oneway
    # chat, translated chat), a duplicate that must not be delivered, 2 bad pushes.
    if [[ $pushes == 7 && $bad == 2 && $restored == 1 && $reconn -ge 1 ]]; then ok=ok; else fail=1; fi
    printf '%-10s %-8s %-5s %-6s %-9s %-7s %-8s %s\n' "$curve" "$mode" "$bits" "$pushes" "$bad" "$restored" "$reconn" "$ok"
done
echo "logs: $logs"
exit $fail
