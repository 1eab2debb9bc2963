//! Target 3: the push and answer decoders.
//!
//! Input: `[selector] [method name, for selector 8] [status, for selector 9] payload...`
//!
//! - selectors 0..=7: `decode_push` with each known method (and `decode_method`, which must
//!   agree);
//! - selector 8: `decode_push` with a fuzzer-chosen method name;
//! - selector 9: `decode_answer` with a fuzzer-chosen status.
//!
//! Invariants: the result, value or exact error, equals the model in `src/model.rs` (written
//! from the documented rules over the reference tokenizer); the JSON info parsers of a
//! decoded message (translated chat, file info) never panic and borrow only from the message
//! or the scratch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtm_listen::rtm::answer::decode_answer;
use rtm_listen::rtm::dispatch::{Callback, Category};
use rtm_listen::rtm::info::{parse_file_info, parse_translated};
use rtm_listen::rtm::push::{Message, Method, Push, decode_method, decode_push};
use rtm_listen::wire::json::Scratch;
use rtm_listen_fuzz::{Input, hex, model};

fn within(outer: &[u8], inner: &[u8]) -> bool {
    inner.is_empty() || {
        let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
        i >= o && i + inner.len() <= o + outer.len()
    }
}

fn check_info(m: &Message<'_>) {
    assert_eq!(m.category(), Category::of(m.mtype));
    assert_eq!(m.callback(), Callback::for_message(m.target, m.category()));
    let mut buf = [0u8; 256];
    let scratch_range = buf.as_ptr_range();
    let in_scratch = |s: &[u8]| s.is_empty() || scratch_range.contains(&s.as_ptr());
    {
        let mut scratch = Scratch::new(&mut buf);
        if let Ok(t) = parse_translated(m.msg, &mut scratch) {
            for s in [
                t.source_language,
                t.target_language,
                t.source_text,
                t.target_text,
            ] {
                assert!(
                    within(m.msg, s) || in_scratch(s),
                    "translated field outside msg and scratch"
                );
            }
            assert!(within(m.msg, t.text()) || in_scratch(t.text()));
        }
    }
    let mut scratch = Scratch::new(&mut buf);
    if let Ok(f) = parse_file_info(m.msg, m.attrs, &mut scratch) {
        for s in [f.url, f.surl, f.language] {
            assert!(within(m.msg, s) || within(m.attrs, s) || in_scratch(s));
        }
        if let Some(c) = f.custom {
            assert!(
                within(m.attrs, c)
                    || in_scratch(c)
                    || [&b"true"[..], b"false", b"null"].contains(&c)
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input::new(data);
    let sel = inp.u8() % 10;
    match sel {
        0..=7 => {
            let (name, method) = model::METHODS[usize::from(sel)];
            let payload = inp.rest();
            let want = model::push(name.as_bytes(), payload);
            let got = decode_push(name.as_bytes(), payload);
            assert_eq!(got, want, "{name} {}", hex(payload));
            assert_eq!(
                decode_method(method, payload),
                got,
                "decode_method vs decode_push"
            );
            assert_eq!(Method::parse(name.as_bytes()), Some(method));
            assert_eq!(method.name(), name);
            if let Ok(Push::Message(m)) = got {
                check_info(&m);
            }
        }
        8 => {
            let n = usize::from(inp.u8() % 24);
            let name = inp.bytes(n);
            let payload = inp.rest();
            let want = model::push(name, payload);
            let got = decode_push(name, payload);
            assert_eq!(
                got,
                want,
                "{:?} {}",
                String::from_utf8_lossy(name),
                hex(payload)
            );
            let known = model::METHODS
                .iter()
                .find(|(m, _)| m.as_bytes() == name)
                .map(|x| x.1);
            assert_eq!(Method::parse(name), known);
        }
        _ => {
            let status = inp.u8();
            let payload = inp.rest();
            let want = model::answer(status, payload);
            let got = decode_answer(status, payload);
            assert_eq!(got, want, "status {status} {}", hex(payload));
            if let Ok(a) = got {
                assert_eq!(a.is_ok(), status == 0);
                assert!(within(payload, a.ex) && within(payload, a.raiser));
            }
        }
    }
});
