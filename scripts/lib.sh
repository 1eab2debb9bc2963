# Shared by the scripts in this directory: `source scripts/lib.sh` after `cd` to the root.

# Where cargo writes: $CARGO_TARGET_DIR when the environment sets it (made absolute, so that
# cargo and the scripts agree after a `cd`), else ./target. Scripts name outputs through $TGT.
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
    CARGO_TARGET_DIR=$(realpath -m "$CARGO_TARGET_DIR")
    export CARGO_TARGET_DIR
fi
TGT=${CARGO_TARGET_DIR:-$PWD/target}

# Says what is about to be installed, and why, before installing it.
installing() { printf 'installing: %s\n' "$*"; }

# A section heading in the output.
step() { printf '\n==> %s\n' "$*"; }

# Stops the script with a message.
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# The Cortex-M4 board the bare-metal runs use (QEMU's mps2-an386; semihosting carries the output
# and the exit status). crates/firmware/.cargo/config.toml has the same line as cargo's runner.
QEMU_M4=(qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic
         -semihosting-config enable=on,target=native -kernel)

# Installs the nightly toolchain (minimal profile) when it is missing.
ensure_nightly() {
    if ! rustup run nightly rustc --version >/dev/null 2>&1; then
        installing "the nightly toolchain (rustup, minimal profile), for Miri and cargo-fuzz"
        rustup toolchain install nightly --profile minimal
    fi
}

# Runs a test program whose last line must be "<N> passed, 0 failed"; its output goes to
# "$OUT/<label>.log" (OUT is set by the calling script). Prints the label and that line.
run() { # label, command...
    local label=$1 log
    shift
    log="$OUT/$(echo "$label" | tr -c 'a-zA-Z0-9_\n' '_').log"
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        fail "$label exited with an error"
    fi
    tail -1 "$log" | grep -Eq '^[0-9]+ passed, 0 failed$' || {
        cat "$log" >&2
        fail "$label: no '<N> passed, 0 failed' line"
    }
    printf '%-44s %s\n' "$label" "$(tail -1 "$log")"
}
