//! Observation 4: translated and file info are delivered whatever the length of their strings,
//! given the scratch `Message::info_scratch_len` names; a smaller scratch fails with an error,
//! never silently.

mod support;

use rtm_listen::rtm::info::{parse_file_info, parse_translated};
use rtm_listen::session::Event;
use rtm_listen::wire::json::{JsonError, Scratch};
use support::*;

fn one_message(
    l: &mut L,
    frame: &[u8],
    check: &mut dyn FnMut(&rtm_listen::rtm::push::Message<'_>),
) {
    let mut n = 0;
    let mut on = |e: Event<'_>| {
        if let Event::Message(m) = e {
            check(&m.message);
            n += 1;
        }
    };
    assert_eq!(l.handle_input(1, frame, &mut on), frame.len());
    l.poll_events(&mut on);
    assert_eq!(n, 1);
}

#[test]
fn a_long_translated_chat_and_a_2k_file_url_arrive_with_their_info() {
    let mut l = listener();
    l.connected(0);
    events(&mut l);
    // 60 + 60 CJK characters (3 bytes each in UTF-8, 6 as \\uXXXX escapes).
    let source: String = "你".repeat(60);
    let target: String = "好".repeat(60);
    let esc = |s: &str| {
        s.chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect::<String>()
    };
    let json = format!(
        r#"{{"source":"zh","target":"ja","sourceText":"{}","targetText":"{}"}}"#,
        esc(&source),
        esc(&target)
    );
    let frame = pushmsg(Some(1), 5, 6, 7, 30, &json);
    one_message(&mut l, &frame, &mut |m| {
        let mut scratch = vec![0u8; m.info_scratch_len()];
        let t = m.translated(&mut scratch).expect("translated info");
        assert_eq!(t.source_text, source.as_bytes());
        assert_eq!(t.target_text, target.as_bytes());
        // 256 bytes cannot hold 360 unescaped bytes: an error, not a silent None.
        let mut small = [0u8; 256];
        assert_eq!(
            parse_translated(m.msg, &mut Scratch::new(&mut small)).err(),
            Some(JsonError::ScratchFull)
        );
    });

    // A file whose URL is 2 KiB once unescaped (every '/' written as \\/).
    let url = format!("https://files.example/{}", "a/".repeat(1013));
    assert!(url.len() >= 2048);
    let json = format!(r#"{{"url":"{}","size":42}}"#, url.replace('/', "\\/"));
    let frame = pushgroupmsg(Some(2), 5, 6, 8, 50, &json);
    one_message(&mut l, &frame, &mut |m| {
        let mut scratch = vec![0u8; m.info_scratch_len()];
        let f = m.file_info(&mut scratch).expect("file info");
        assert_eq!(f.url, url.as_bytes());
        assert_eq!(f.size, 42);
        let mut small = [0u8; 256];
        assert_eq!(
            parse_file_info(m.msg, m.attrs, &mut Scratch::new(&mut small)).err(),
            Some(JsonError::ScratchFull)
        );
    });
}
