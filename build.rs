//! Build script for the core crate.
//!
//! It generates nothing into the source tree. It only tells cargo when to rerun, so that a
//! plain dependent build never writes files outside `OUT_DIR`.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}
