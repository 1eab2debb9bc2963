//! Link setup for the firmware (the cortex-m-rt convention), done here rather than in
//! `.cargo/config.toml` rustflags so that a `RUSTFLAGS` set by CI cannot silently drop it:
//!
//! - `memory.x` is copied where the linker finds it;
//! - `link.x` (cortex-m-rt) and `defmt.x` (defmt's symbol table) are added.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
