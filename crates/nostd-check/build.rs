//! Link the binary without the C runtime's start files; libc only provides memcpy & co and
//! the `write`/`exit` calls. No allocator is linked or defined anywhere.
fn main() {
    println!("cargo:rustc-link-arg-bins=-nostartfiles");
    println!("cargo:rustc-link-arg-bins=-lc");
    println!("cargo:rerun-if-changed=build.rs");
}
