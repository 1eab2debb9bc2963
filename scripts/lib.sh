# Shared by the scripts in this directory: `source scripts/lib.sh` after `cd` to the root.

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
        rustup toolchain install nightly --profile minimal
    fi
}
