//! Helpers shared by the integration tests (each test crate includes this module).
#![allow(dead_code)]

use serde_json::Value as Json;

/// The recorded Python SDK frames.
pub fn vectors() -> Json {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/rtm-python-sdk.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).expect("vectors JSON is well-formed")
}

/// Decodes a hex string (whitespace allowed between bytes).
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd hex length in {s:?}");
    digits
        .chunks(2)
        .map(|p| {
            let s = std::str::from_utf8(p).unwrap();
            u8::from_str_radix(s, 16).unwrap_or_else(|_| panic!("bad hex {s:?}"))
        })
        .collect()
}

/// A JSON field as a string, panicking with the path when absent.
pub fn str_field<'a>(v: &'a Json, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing string field {key:?} in {v}"))
}

/// A JSON field as a u64, panicking with the path when absent.
pub fn u64_field(v: &Json, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("missing integer field {key:?} in {v}"))
}

/// The bytes of a recorded frame (its `hex` field).
pub fn frame_bytes(v: &Json) -> Vec<u8> {
    hex(str_field(v, "hex"))
}
