//! Rust-side tests of the exports (NULLs, storage, re-entry) and the header drift check.

use core::ffi::c_void;
use core::ptr::{null, null_mut};

use super::*;
use engine::rtm::dispatch::Category;

#[test]
fn header_matches_a_fresh_generation() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).unwrap();
    // The version macros come from Cargo.toml (this crate's version).
    let version = format!(
        "\n\n/* The library's version (crates/ffi/Cargo.toml). */\n\
         #define RTM_LISTEN_VERSION_MAJOR {}\n\
         #define RTM_LISTEN_VERSION_MINOR {}\n\
         #define RTM_LISTEN_VERSION_PATCH {}\n\
         #define RTM_LISTEN_VERSION_STRING \"{}\"\n\
         #define RTM_LISTEN_VERSION_NUMBER (RTM_LISTEN_VERSION_MAJOR * 10000 + RTM_LISTEN_VERSION_MINOR * 100 + RTM_LISTEN_VERSION_PATCH)",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION"),
    );
    config.after_includes = Some(config.after_includes.unwrap_or_default() + &version);
    let bindings = cbindgen::generate_with_config(dir, config).expect("cbindgen");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let path = format!("{dir}/../../include/rtm_listen.h");
    if std::env::var_os("UPDATE_HEADER").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/rtm_listen.h is stale: run `UPDATE_HEADER=1 cargo test -p rtm-listen-ffi header`"
    );
}

fn config(monitor: rtm_monitor) -> rtm_config {
    rtm_config {
        pid: 1,
        secret: rtm_str::from(b"s"),
        entropy: 7,
        quest_timeout_ms: 0,
        ping_interval_ms: 0,
        monitor,
        buffer: null_mut(),
        buffer_len: 0,
        rx_size: 0,
        tx_size: 0,
        backoff: null(),
        lazy_info: false,
        encryption: plaintext(),
        transport: rtm_transport {
            send: None,
            user: null_mut(),
        },
    }
}

/// The zero `rtm_encryption`: plaintext.
fn plaintext() -> rtm_encryption {
    rtm_encryption {
        server_key: null(),
        server_key_len: 0,
        format: RTM_KEY_AUTO,
        curve: null(),
        stream_mode: false,
        aes256: false,
        entropy: null(),
        entropy_len: 0,
    }
}

#[test]
fn a_backoff_in_the_config_sets_the_reconnect_advice() {
    let backoff = rtm_backoff {
        failed_window_ms: 1500,
        immediate: 1,
        first_ms: 3000,
        max_ms: 9000,
        linear_steps: 2,
    };
    let mut cfg = config(no_monitor());
    cfg.backoff = &backoff;
    let mut l = boxed();
    let refused = rtm_close_reason_io(RTM_IO_CONNECTION_REFUSED, 111);
    let mut delays = Vec::new();
    // SAFETY: `l` is live storage of the right size; the config and backoff outlive the call.
    unsafe {
        assert_eq!(
            rtm_listener_init(&mut *l, size_of::<rtm_listener>(), &cfg),
            RTM_OK
        );
        for now in [100u64, 200, 300, 400] {
            assert_eq!(
                rtm_listener_connect_failed(&mut *l, now, rtm_str::from(b"gw:1"), &refused),
                RTM_OK
            );
            let mut at = 0;
            assert_eq!(rtm_listener_reconnect_at(&mut *l, &mut at), RTM_OK);
            delays.push(at - now);
        }
    }
    // One immediate retry, then 3 s, 6 s, capped at 9 s.
    assert_eq!(delays, [0, 3000, 6000, 9000]);
}

fn no_monitor() -> rtm_monitor {
    // SAFETY: all-zero is a valid rtm_monitor: NULL user, every callback None.
    unsafe { core::mem::zeroed() }
}

fn boxed() -> Box<rtm_listener> {
    // SAFETY: rtm_listener is plain bytes; zeroed is a valid (uninitialised-listener) value.
    unsafe { Box::new(core::mem::zeroed()) }
}

#[test]
fn null_and_uninitialised_handles_are_refused() {
    let mut consumed = 0;
    let mut at = 0;
    // SAFETY: every pointer passed is NULL on purpose, or points to live test memory.
    unsafe {
        assert_eq!(rtm_listener_handle_timeout(null_mut(), 0), RTM_ERR_NULL);
        assert_eq!(
            rtm_listener_receive(null_mut(), 0, null(), 0, &mut consumed),
            RTM_ERR_NULL
        );
        let mut l = boxed();
        assert_eq!(rtm_listener_next_timeout(&mut *l, &mut at), RTM_ERR_UNINIT);
        assert_eq!(rtm_listener_next_timeout(&mut *l, null_mut()), RTM_ERR_NULL);
        let cfg = config(no_monitor());
        assert_eq!(rtm_listener_init(&mut *l, 16, &cfg), RTM_ERR_STORAGE);
        assert_eq!(
            rtm_listener_init(&mut *l, size_of::<rtm_listener>(), null()),
            RTM_ERR_NULL
        );
        assert_eq!(
            rtm_listener_init(&mut *l, size_of::<rtm_listener>(), &cfg),
            RTM_OK
        );
        assert_eq!(rtm_listener_next_timeout(&mut *l, &mut at), RTM_NONE);
        assert_eq!(
            rtm_listener_receive(&mut *l, 0, b"x".as_ptr(), 1, &mut consumed),
            RTM_ERR_NOT_CONNECTED
        );
        assert_eq!(
            rtm_listener_receive(&mut *l, 0, null(), 1, &mut consumed),
            RTM_ERR_NULL
        );
        let misaligned = (&raw mut *l).cast::<u8>().add(1).cast::<rtm_listener>();
        assert_eq!(rtm_listener_handle_timeout(misaligned, 0), RTM_ERR_STORAGE);
        assert_eq!(rtm_listener_deinit(&mut *l), RTM_OK);
        assert_eq!(rtm_listener_handle_timeout(&mut *l, 0), RTM_ERR_UNINIT);
    }
}

#[test]
fn storage_constants_bound_the_real_sizes() {
    assert!(rtm_listener_size() <= RTM_LISTENER_STORAGE);
    assert!(rtm_listener_state_size() <= RTM_LISTENER_STATE_STORAGE);
    assert_eq!(
        rtm_listener_size() - rtm_listener_state_size(),
        RTM_INLINE_BUFFER
    );
    assert_eq!(rtm_buffer_size(4096, 1024), 9216);
    assert_eq!(rtm_buffer_size(usize::MAX, 1), usize::MAX);
}

#[test]
fn status_strings_cover_the_table() {
    for s in [
        RTM_OK,
        RTM_NONE,
        RTM_CLOSE,
        RTM_ERR_NULL,
        RTM_ERR_BUSY,
        RTM_ERR_TOO_LARGE,
        9999,
    ] {
        let p = rtm_status_str(s);
        assert!(!p.is_null());
        // SAFETY: rtm_status_str returns static NUL-terminated strings.
        let text = unsafe { core::ffi::CStr::from_ptr(p) }.to_str().unwrap();
        assert!(!text.is_empty());
    }
}

struct Reentry {
    listener: *mut rtm_listener,
    seen: Vec<i32>,
}

unsafe extern "C" fn reenter(user: *mut c_void, _: rtm_str, _: bool, _: bool) {
    // SAFETY: `user` is the Reentry passed in the config.
    let r = unsafe { &mut *user.cast::<Reentry>() };
    // SAFETY: re-entering is exactly what is under test; it must be refused.
    let status = unsafe { rtm_listener_handle_timeout(r.listener, 0) };
    r.seen.push(status);
    let cfg = config(no_monitor());
    // SAFETY: as above; re-initialising a listener from its own callback must be refused too.
    let status = unsafe { rtm_listener_init(r.listener, size_of::<rtm_listener>(), &cfg) };
    r.seen.push(status);
}

#[test]
fn reentry_from_a_callback_is_refused_and_state_stays_usable() {
    let mut storage = boxed();
    // One raw pointer for every call, as a C host holds it: a fresh `&mut` per call would
    // invalidate the copy the callback keeps (Miri's Stacked Borrows reports that use).
    let l: *mut rtm_listener = &raw mut *storage;
    let mut r = Reentry {
        listener: l,
        seen: vec![],
    };
    let mut m = no_monitor();
    m.user = (&raw mut r).cast();
    m.connected = Some(reenter);
    let cfg = config(m);
    // SAFETY: the pointers point to live test memory; `r` outlives the listener's use of it.
    unsafe {
        assert_eq!(
            rtm_listener_init(l, size_of::<rtm_listener>(), &cfg),
            RTM_OK
        );
        assert_eq!(
            rtm_listener_connected(l, 0, rtm_str::from(b"here:1")),
            RTM_OK
        );
        assert_eq!(r.seen, vec![RTM_ERR_BUSY, RTM_ERR_BUSY]);
        let mut id = 0;
        // Named arrays: a temporary's `as_ptr()` would dangle once the statement ends.
        let (login, typing) = ([rtm_str::from(b"login")], [rtm_str::from(b"typing")]);
        let ids = rtm_ids {
            gids: [5i64].as_ptr(),
            gids_len: 1,
            rids: null(),
            rids_len: 0,
            uids: null(),
            uids_len: 0,
            events: login.as_ptr(),
            events_len: 1,
        };
        assert_eq!(rtm_listen_add(l, 0, &ids, &mut id), RTM_OK);
        assert_eq!(id, 1);
        let (mut data, mut len) = (null(), 0);
        assert_eq!(rtm_listener_transmit(l, &mut data, &mut len), RTM_OK);
        assert!(len > 0);
        assert_eq!(rtm_listener_transmit_done(l, len + 1), RTM_ERR_INVALID_ARG);
        assert_eq!(rtm_listener_transmit_done(l, len), RTM_OK);
        let bad = rtm_ids {
            events: typing.as_ptr(),
            ..ids
        };
        assert_eq!(
            rtm_listen_add(l, 0, &bad, &mut id),
            RTM_ERR_UNSUPPORTED_EVENT
        );
        let nulls = rtm_ids {
            gids: null(),
            ..ids
        };
        assert_eq!(rtm_listen_add(l, 0, &nulls, &mut id), RTM_ERR_NULL);
    }
}

/// What the callbacks copied out of the borrowed views, one line per callback.
#[derive(Default)]
struct Seen {
    lines: Vec<String>,
}

fn text(s: rtm_str) -> String {
    // SAFETY: views handed to a callback are valid for `len` bytes during the callback.
    String::from_utf8_lossy(unsafe { core::slice::from_raw_parts(s.ptr, s.len) }).into_owned()
}

unsafe fn record(user: *mut c_void, kind: &str, m: *const rtm_message) {
    // SAFETY: `user` is the test's Seen; `m` and everything it points to are valid during the
    // callback (what this test checks, under Miri as well).
    let (seen, m) = unsafe { (&mut *user.cast::<Seen>(), &*m) };
    let mut line = format!(
        "{kind} from {} to {} mid {} mtype {} msg {:?} attrs {:?}",
        m.from_uid,
        m.to_id,
        m.message_id,
        m.message_type,
        text(m.message),
        text(m.attrs)
    );
    // SAFETY: as above; NULL when the category has no such info.
    if let Some(t) = unsafe { m.translated_info.as_ref() } {
        line += &format!(
            " translated {}->{} {:?}",
            text(t.source_language),
            text(t.target_language),
            text(t.target_text)
        );
    }
    // SAFETY: as above.
    if let Some(f) = unsafe { m.file_info.as_ref() } {
        line += &format!(
            " file {} size {} audio {} lang {} duration {} custom {:?}",
            text(f.url),
            f.size,
            f.is_rtm_audio,
            text(f.language),
            f.duration,
            f.has_custom.then(|| text(f.custom))
        );
    }
    seen.lines.push(line);
}

unsafe extern "C" fn p2p_chat(user: *mut c_void, m: *const rtm_message) {
    // SAFETY: forwarded from the listener's call.
    unsafe { record(user, "p2p chat", m) }
}

unsafe extern "C" fn room_file(user: *mut c_void, m: *const rtm_message) {
    // SAFETY: forwarded from the listener's call.
    unsafe { record(user, "room file", m) }
}

unsafe extern "C" fn group_cmd(user: *mut c_void, m: *const rtm_message) {
    // SAFETY: forwarded from the listener's call.
    unsafe { record(user, "group cmd", m) }
}

#[test]
fn pushes_reach_their_callbacks_as_views_and_are_answered() {
    use rtm_gate_sim::{FileSpec, Push, Target};
    let translated = r#"{"source":"en","target":"fr","sourceText":"hi","targetText":"salut"}"#;
    let audio = FileSpec::audio("https://f.example.com/17.amr", 23456, "en", 5120)
        .with_custom(r#"{"k":1}"#);
    let pushes = [
        Push::chat(Target::P2p(200), 100, 1, translated),
        Push::file(Target::Room(300), 100, 2, &audio),
        Push::cmd(Target::Group(400), 100, 3, "cmd-body"),
    ];
    // Frames from the gate simulator: rmpv payloads, headers written independently of the
    // engine.
    let mut stream: Vec<u8> = (1u32..)
        .zip(&pushes)
        .flat_map(|(seq, push)| push.frame(seq, 1))
        .collect();
    // The same stream again: every push is a duplicate, answered but not delivered.
    stream.extend_from_slice(&stream.clone());

    let mut seen = Seen::default();
    let mut m = no_monitor();
    m.user = (&raw mut seen).cast();
    m.push_p2p_chat = Some(p2p_chat);
    m.push_room_file = Some(room_file);
    m.push_group_cmd = Some(group_cmd);
    let cfg = config(m);
    let mut storage = boxed();
    let l: *mut rtm_listener = &raw mut *storage;
    let mut answers = 0;
    // SAFETY: `l` points to live storage, `seen` outlives the listener's use of it, and every
    // other pointer is to live test memory.
    unsafe {
        assert_eq!(
            rtm_listener_init(l, size_of::<rtm_listener>(), &cfg),
            RTM_OK
        );
        assert_eq!(
            rtm_listener_connected(l, 0, rtm_str::from(b"gate:13321")),
            RTM_OK
        );
        // Fed in 7-byte pieces, taking the answers out as they come (as a host with a small
        // socket buffer would).
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let piece = &rest[..rest.len().min(7)];
            let mut consumed = 0;
            let status = rtm_listener_receive(l, 10, piece.as_ptr(), piece.len(), &mut consumed);
            assert_eq!(status, RTM_OK);
            assert!(consumed > 0, "no progress with the transmit queue drained");
            rest = &rest[consumed..];
            loop {
                let (mut data, mut len) = (null(), 0);
                assert_eq!(rtm_listener_transmit(l, &mut data, &mut len), RTM_OK);
                if len == 0 {
                    break;
                }
                let out = core::slice::from_raw_parts(data, len);
                // Each answer: the 12-byte header with the answer flag, the seq, an empty map.
                for answer in out.chunks(17) {
                    assert_eq!(answer.len(), 17, "{out:02x?}");
                    assert_eq!(&answer[..4], b"FPNN");
                    answers += 1;
                }
                assert_eq!(rtm_listener_transmit_done(l, len), RTM_OK);
            }
        }
        assert_eq!(rtm_listener_deinit(l), RTM_OK);
    }
    assert_eq!(
        answers, 6,
        "every twoway push answered once, duplicates included"
    );
    assert_eq!(
        seen.lines,
        [
            r#"p2p chat from 100 to 200 mid 1 mtype 30 msg "{\"source\":\"en\",\"target\":\"fr\",\"sourceText\":\"hi\",\"targetText\":\"salut\"}" attrs "" translated en->fr "salut""#,
            r#"room file from 100 to 300 mid 2 mtype 41 msg "{\"url\":\"https://f.example.com/17.amr\",\"size\":23456}" attrs "{\"rtm\":{\"type\":\"audiomsg\",\"lang\":\"en\",\"duration\":5120},\"custom\":{\"k\":1}}" file https://f.example.com/17.amr size 23456 audio true lang en duration 5120 custom Some("{\"k\":1}")"#,
            r#"group cmd from 100 to 400 mid 3 mtype 32 msg "cmd-body" attrs """#,
        ]
    );
}

#[derive(Default)]
struct Disconnects {
    lines: Vec<String>,
    big: Option<(usize, u32)>,
}

unsafe extern "C" fn on_connected(user: *mut c_void, ep: rtm_str, ok: bool, re: bool) {
    // SAFETY: `user` is the test's Disconnects.
    let d = unsafe { &mut *user.cast::<Disconnects>() };
    d.lines.push(format!("connected {} {ok} {re}", text(ep)));
}

unsafe extern "C" fn on_closed(user: *mut c_void, ep: rtm_str, by_error: bool, re: bool) {
    // SAFETY: `user` is the test's Disconnects.
    let d = unsafe { &mut *user.cast::<Disconnects>() };
    d.lines.push(format!("closed {} {by_error} {re}", text(ep)));
}

unsafe extern "C" fn on_disconnected(
    user: *mut c_void,
    ep: rtm_str,
    reason: *const rtm_close_reason,
    retry: u64,
) {
    // SAFETY: `user` is the test's Disconnects; `reason` is valid during the callback.
    let (d, r) = unsafe { (&mut *user.cast::<Disconnects>(), &*reason) };
    // SAFETY: a static C string.
    let what = unsafe { core::ffi::CStr::from_ptr(rtm_close_reason_str(r)) };
    d.lines.push(format!(
        "disconnected {} {} errno {} retry {retry}",
        text(ep),
        what.to_str().unwrap(),
        r.os_error
    ));
}

unsafe extern "C" fn on_big(user: *mut c_void, m: *const rtm_message) {
    // SAFETY: `user` is the test's Disconnects; `m` and its views are valid during the call.
    let (d, m) = unsafe { (&mut *user.cast::<Disconnects>(), &*m) };
    // SAFETY: as above.
    let body = unsafe { core::slice::from_raw_parts(m.message.ptr, m.message.len) };
    d.big = Some((body.len(), body.iter().map(|&b| u32::from(b)).sum()));
}

unsafe extern "C" fn on_bad(
    user: *mut c_void,
    method: rtm_str,
    code: i64,
    twoway: bool,
    seq: u32,
    len: usize,
) {
    // SAFETY: `user` is the test's Disconnects.
    let d = unsafe { &mut *user.cast::<Disconnects>() };
    d.lines
        .push(format!("bad {} {code} {twoway} {seq} {len}", text(method)));
}

#[test]
fn a_lent_buffer_carries_big_frames_and_reasons_reach_the_monitor() {
    use rtm_gate_sim::{Push, Target};
    let mut seen = Disconnects::default();
    let mut m = no_monitor();
    m.user = (&raw mut seen).cast();
    m.connected = Some(on_connected);
    m.closed = Some(on_closed);
    m.disconnected = Some(on_disconnected);
    m.push_p2p_chat = Some(on_big);
    m.bad_push = Some(on_bad);
    // 8 KiB RX lent by the host; the storage holds the state only.
    let (rx, tx) = (8192usize, 1024usize);
    let mut buffer = vec![0u8; rtm_buffer_size(rx, tx)];
    let mut cfg = config(m);
    cfg.buffer = buffer.as_mut_ptr();
    cfg.buffer_len = buffer.len();
    cfg.rx_size = rx;
    cfg.tx_size = tx;
    let mut storage = vec![0u128; rtm_listener_state_size().div_ceil(16)];
    let l: *mut rtm_listener = storage.as_mut_ptr().cast();
    let body = "x".repeat(6000);
    let fits = Push::chat(Target::P2p(1), 2, 1, &body).frame(1, 1);
    let huge = Push::chat(Target::P2p(1), 2, 2, &"y".repeat(9000)).frame(2, 1);
    // SAFETY: `l` points to live storage of the state size, the buffer outlives the listener,
    // `seen` outlives its use; the other pointers are to live test memory.
    unsafe {
        assert_eq!(
            rtm_listener_init(l, rtm_listener_state_size(), &cfg),
            RTM_OK
        );
        let refused = rtm_close_reason_io(RTM_IO_CONNECTION_REFUSED, 111);
        assert_eq!(
            rtm_listener_connect_failed(l, 5, rtm_str::from(b"gw:1"), &refused),
            RTM_OK
        );
        assert_eq!(
            rtm_listener_connected(l, 10, rtm_str::from(b"gw:2")),
            RTM_OK
        );
        for frame in [&fits, &huge] {
            let mut rest = &frame[..];
            while !rest.is_empty() {
                let mut used = 0;
                let st = rtm_listener_receive(l, 11, rest.as_ptr(), rest.len(), &mut used);
                assert_eq!(st, RTM_OK);
                rest = &rest[used..];
                let (mut data, mut len) = (null(), 0);
                assert_eq!(rtm_listener_transmit(l, &mut data, &mut len), RTM_OK);
                // The answers are written inside the lent buffer's TX part.
                let range = buffer.as_ptr_range();
                assert!(len == 0 || range.contains(&data));
                assert_eq!(rtm_listener_transmit_done(l, len), RTM_OK);
            }
        }
        let peer = rtm_close_reason_of(RTM_REASON_PEER_CLOSED);
        assert_eq!(rtm_listener_closed(l, 20, &peer), RTM_OK);
        let mut stats = rtm_stats::default();
        assert_eq!(rtm_listener_stats(l, &mut stats), RTM_OK);
        assert_eq!(
            (stats.pushes, stats.oversized, stats.connect_failures),
            (1, 1, 1)
        );
        assert_eq!(rtm_listener_deinit(l), RTM_OK);
    }
    assert_eq!(seen.big, Some((6000, 6000 * u32::from(b'x'))));
    assert_eq!(
        seen.lines,
        [
            "connected gw:1 false false",
            "disconnected gw:1 connection refused errno 111 retry 0",
            "connected gw:2 true false",
            &format!("bad pushmsg 10002 true 2 {}", huge.len()),
            "closed gw:2 false false",
            "disconnected gw:2 closed by the peer errno 0 retry 0",
        ]
    );
}

/// The eager path skips the parse for a chat whose first byte is neither blank nor the start
/// of a JSON value: for every first byte and a few continuations, such a chat parses to no
/// info, exactly what the skip gives.
#[test]
fn plain_chats_skip_the_parse_with_the_parses_result() {
    let tails: [&[u8]; 8] = [
        b"",
        b"ello",
        b"rue",
        b"ull",
        br#"{"source":"en","targetText":"x"}"#,
        b" {\"a\":1}",
        b"1]",
        b"\xff\x00",
    ];
    let mut scratch = [0u8; 256];
    let mut plain = 0;
    for first in 0..=255u8 {
        for tail in tails {
            let mut msg = vec![first];
            msg.extend_from_slice(tail);
            if crate::info::plain_chat(&msg) {
                plain += 1;
                let info = crate::info::parse(Category::Chat, &msg, b"", &mut scratch);
                assert_eq!(info.status(), RTM_INFO_NONE, "{msg:?}");
                assert!(info.translated_ptr().is_null() && info.file_ptr().is_null());
            }
        }
    }
    assert!(crate::info::plain_chat(b""));
    // 256 first bytes less 4 blanks and 17 value starts ({ " t f n [ - and 10 digits).
    assert_eq!(plain, (256 - 21) * tails.len());
}

proptest::proptest! {
    /// As above, for arbitrary texts.
    #[test]
    fn a_plain_chat_parses_to_no_info(msg in proptest::collection::vec(proptest::num::u8::ANY, 0..48)) {
        let mut scratch = [0u8; 64];
        if crate::info::plain_chat(&msg) {
            let info = crate::info::parse(Category::Chat, &msg, b"", &mut scratch);
            proptest::prop_assert_eq!(info.status(), RTM_INFO_NONE);
            proptest::prop_assert!(info.translated_ptr().is_null());
        }
    }
}

/// Counts message callbacks.
unsafe extern "C" fn count(user: *mut c_void, _: *const rtm_message) {
    // SAFETY: `user` is the test's counter.
    unsafe { *user.cast::<usize>() += 1 };
}

/// `n` P2P chat pushes, twoway, seqs 1..=n, as one byte stream.
fn chat_stream(n: i64) -> Vec<u8> {
    use rtm_gate_sim::{Push, Target};
    (1..=n)
        .flat_map(|i| Push::chat(Target::P2p(2), 1, i, "hello").frame(i as u32, 1))
        .collect()
}

/// Initialises `l` with `cfg` and connects it.
///
/// # Safety
/// `l` must point to live storage of `size_of::<rtm_listener>()` bytes, and what `cfg`
/// points to must outlive the listener's use of it.
unsafe fn init_connected(l: *mut rtm_listener, cfg: &rtm_config) {
    // SAFETY: forwarded from the caller.
    unsafe {
        assert_eq!(rtm_listener_init(l, size_of::<rtm_listener>(), cfg), RTM_OK);
        assert_eq!(rtm_listener_connected(l, 0, rtm_str::from(b"gw")), RTM_OK);
    }
}

#[test]
fn a_push_that_waited_for_transmit_space_is_delivered_by_transmit_done() {
    let mut delivered = 0usize;
    let mut m = no_monitor();
    m.user = (&raw mut delivered).cast();
    m.push_p2p_chat = Some(count);
    let mut cfg = config(m);
    // The smallest TX: room for 43 answers of 17 bytes.
    cfg.tx_size = rtm_min_tx_size();
    let stream = chat_stream(50);
    let mut storage = boxed();
    let l: *mut rtm_listener = &raw mut *storage;
    // SAFETY: `l` points to live storage; `delivered` outlives the listener's use of it.
    unsafe {
        init_connected(l, &cfg);
        let mut used = 0;
        let st = rtm_listener_receive(l, 1, stream.as_ptr(), stream.len(), &mut used);
        assert_eq!((st, used), (RTM_OK, stream.len()), "the rest waits in RX");
        let room = rtm_min_tx_size() / 17;
        assert_eq!(delivered, room, "as many pushes as answers fit");
        let (mut data, mut len) = (null(), 0);
        assert_eq!(rtm_listener_transmit(l, &mut data, &mut len), RTM_OK);
        assert_eq!(len, room * 17);
        // Part of the bytes: room for more answers, so more pushes, inside this call.
        assert_eq!(rtm_listener_transmit_done(l, 17 * 3), RTM_OK);
        assert_eq!(delivered, room + 3);
        assert_eq!(rtm_listener_transmit(l, &mut data, &mut len), RTM_OK);
        assert_eq!(rtm_listener_transmit_done(l, len), RTM_OK);
        assert_eq!(
            delivered, 50,
            "the rest, from RX, when the transport took the bytes"
        );
        // Nothing buffered now: transmit_done delivers nothing more and still answers OK.
        assert_eq!(rtm_listener_transmit(l, &mut data, &mut len), RTM_OK);
        assert_eq!(rtm_listener_transmit_done(l, len), RTM_OK);
        assert_eq!(rtm_listener_transmit_done(l, 0), RTM_OK);
        assert_eq!(delivered, 50);
    }
}

/// What each file callback saw of its info: asked for twice, or not at all (by url).
#[derive(Default)]
struct Asked {
    lines: Vec<String>,
}

unsafe extern "C" fn ask_info(user: *mut c_void, m: *const rtm_message) {
    // SAFETY: `user` is the test's Asked; `m` is the live view.
    let (asked, view) = unsafe { (&mut *user.cast::<Asked>(), &*m) };
    assert_eq!(view.info_status, RTM_INFO_LAZY);
    // The callback of mid 2 does not ask: the next one must still get its own info.
    if view.message_id == 2 {
        asked.lines.push("2 not asked".into());
        return;
    }
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (mut t, mut f) = (null(), null());
        // SAFETY: the live view; the outputs are writable.
        let st = unsafe { crate::info::rtm_message_info(m, &mut t, &mut f) };
        // SAFETY: valid during the callback when not NULL.
        let url = unsafe { f.as_ref() }.map(|f| text(f.url));
        seen.push(format!("{st} {url:?}"));
    }
    asked
        .lines
        .push(format!("{} {}", view.message_id, seen.join(" / ")));
}

#[test]
fn lazy_info_is_parsed_once_per_message_from_its_own_view() {
    use rtm_gate_sim::{FileSpec, Push, Target};
    let mut asked = Asked::default();
    let mut m = no_monitor();
    m.user = (&raw mut asked).cast();
    m.push_room_file = Some(ask_info);
    let mut cfg = config(m);
    cfg.lazy_info = true;
    let stream: Vec<u8> = (1..=3)
        .flat_map(|i| {
            let file = FileSpec::file(&format!("https://f.example.com/{i}"), 10 * i);
            Push::file(Target::Room(3), 1, i, &file).frame(i as u32, 1)
        })
        .collect();
    let mut storage = boxed();
    let l: *mut rtm_listener = &raw mut *storage;
    // SAFETY: `l` points to live storage; `asked` outlives the listener's use of it.
    unsafe {
        assert_eq!(
            rtm_listener_init(l, size_of::<rtm_listener>(), &cfg),
            RTM_OK
        );
        assert_eq!(rtm_listener_connected(l, 0, rtm_str::from(b"gw")), RTM_OK);
        let mut used = 0;
        let st = rtm_listener_receive(l, 1, stream.as_ptr(), stream.len(), &mut used);
        assert_eq!((st, used), (RTM_OK, stream.len()));
    }
    let ok = |i: u32| format!("{RTM_INFO_OK} Some(\"https://f.example.com/{i}\")");
    assert_eq!(
        asked.lines,
        [
            format!("1 {} / {}", ok(1), ok(1)),
            "2 not asked".to_string(),
            format!("3 {} / {}", ok(3), ok(3)),
        ]
    );
}

#[cfg(feature = "encryption")]
mod encryption;

/// Without the `encryption` feature the ABI is the same: plaintext settings are taken, a
/// server key is refused with its own code, entropy is accepted and ignored.
#[cfg(not(feature = "encryption"))]
#[test]
fn without_the_feature_a_server_key_is_refused() {
    let key = [4u8; 65];
    let entropy = [1u8; 32];
    let enc = rtm_encryption {
        server_key: key.as_ptr(),
        server_key_len: key.len(),
        curve: c"secp256k1".as_ptr(),
        entropy: entropy.as_ptr(),
        entropy_len: entropy.len(),
        ..plaintext()
    };
    let mut cfg = config(no_monitor());
    let mut l = boxed();
    // SAFETY: the pointers are to live test memory.
    unsafe {
        assert_eq!(rtm_encryption_check(&enc), RTM_ERR_ENCRYPTION_NOT_COMPILED);
        cfg.encryption = enc;
        assert_eq!(
            rtm_listener_init(&mut *l, size_of::<rtm_listener>(), &cfg),
            RTM_ERR_ENCRYPTION_NOT_COMPILED
        );
        cfg.encryption = plaintext();
        assert_eq!(
            rtm_listener_init(&mut *l, size_of::<rtm_listener>(), &cfg),
            RTM_OK
        );
        assert_eq!(
            rtm_listener_set_encryption(&mut *l, &enc),
            RTM_ERR_ENCRYPTION_NOT_COMPILED
        );
        assert_eq!(rtm_listener_set_encryption(&mut *l, null()), RTM_OK);
        assert_eq!(
            rtm_listener_add_entropy(&mut *l, entropy.as_ptr(), 32),
            RTM_OK
        );
    }
}

/// What a test transport took: the bytes, how many it takes per call (`usize::MAX`: all), and
/// the status of a call into the listener made from inside `send`.
struct Wire {
    taken: Vec<u8>,
    per_call: usize,
    calls: usize,
    listener: *mut rtm_listener,
    reentry: rtm_status,
}

unsafe extern "C" fn send_to_wire(user: *mut c_void, data: *const u8, len: usize) -> usize {
    // SAFETY: `user` is the test's Wire; `data` is valid for `len` bytes during the call.
    let (wire, bytes) = unsafe {
        (
            &mut *user.cast::<Wire>(),
            core::slice::from_raw_parts(data, len),
        )
    };
    wire.calls += 1;
    // SAFETY: the listener is live; the call must be refused (it is inside one of its calls).
    wire.reentry = unsafe { rtm_listener_handle_timeout(wire.listener, 0) };
    let n = len.min(wire.per_call);
    wire.taken.extend_from_slice(&bytes[..n]);
    n
}

/// Push mode: one `rtm_listener_receive` takes 50 pushes through the smallest TX, every answer
/// handed to `send` in order; a transport that takes a few bytes at a time gets them all; one
/// that takes nothing leaves them queued for pull mode; `send` cannot call into the listener.
#[test]
fn push_mode_sends_the_answers_from_inside_the_call() {
    for per_call in [usize::MAX, 5, 0] {
        let mut delivered = 0usize;
        let mut m = no_monitor();
        m.user = (&raw mut delivered).cast();
        m.push_p2p_chat = Some(count);
        let mut storage = boxed();
        let l: *mut rtm_listener = &raw mut *storage;
        let mut wire = Wire {
            taken: Vec::new(),
            per_call,
            calls: 0,
            listener: l,
            reentry: RTM_OK,
        };
        let mut cfg = config(m);
        cfg.tx_size = rtm_min_tx_size();
        cfg.transport = rtm_transport {
            send: Some(send_to_wire),
            user: (&raw mut wire).cast(),
        };
        let stream = chat_stream(50);
        // SAFETY: `l` points to live storage; `delivered` and `wire` outlive its use of them.
        unsafe {
            init_connected(l, &cfg);
            let mut used = 0;
            let st = rtm_listener_receive(l, 1, stream.as_ptr(), stream.len(), &mut used);
            assert_eq!((st, used), (RTM_OK, stream.len()), "per call {per_call}");
            let (mut data, mut len) = (null(), 0);
            assert_eq!(rtm_listener_transmit(l, &mut data, &mut len), RTM_OK);
            if per_call == 0 {
                // The transport would block: the answers wait, and so do the pushes that
                // need room for theirs; pull mode takes over.
                let room = rtm_min_tx_size() / 17;
                assert_eq!((delivered, len), (room, room * 17));
                assert!(wire.taken.is_empty());
                assert_eq!(rtm_listener_transmit_done(l, len), RTM_OK);
                // The rest was delivered there; its answers wait too (the transport still
                // takes nothing), for pull mode.
                assert_eq!(delivered, 50);
                assert_eq!(rtm_listener_transmit(l, &mut data, &mut len), RTM_OK);
                assert_eq!(len, (50 - room) * 17);
                assert!(wire.taken.is_empty());
            } else {
                assert_eq!((delivered, len), (50, 0), "per call {per_call}: all sent");
                let answers: Vec<u32> = wire
                    .taken
                    .chunks(17)
                    .map(|a| u32::from_le_bytes(a[12..16].try_into().unwrap()))
                    .collect();
                assert_eq!(answers, (1..=50).collect::<Vec<u32>>(), "in order");
            }
            assert!(wire.calls > 0);
            assert_eq!(wire.reentry, RTM_ERR_BUSY, "send must not call in");
        }
    }
}

/// What the WuKongIM test's callbacks saw.
#[derive(Default)]
struct WkSeen {
    lines: Vec<String>,
    kicks: usize,
}

unsafe extern "C" fn wk_group_chat(user: *mut c_void, m: *const rtm_message) {
    // SAFETY: `user` is the test's WkSeen; the view and what it points to are valid during the
    // callback (what this test checks, under Miri as well).
    let (seen, m) = unsafe { (&mut *user.cast::<WkSeen>(), &*m) };
    // SAFETY: as above; set for every WuKongIM message.
    let w = unsafe { m.wukong.as_ref() }.expect("rtm_message.wukong");
    seen.lines.push(format!(
        "group_chat mid {} from {} to {} from_uid {} channel {} type {} seq {} cmn {} topic {} msg {}",
        m.message_id,
        m.from_uid,
        m.to_id,
        text(w.from_uid),
        text(w.channel_id),
        w.channel_type,
        w.message_seq,
        text(w.client_msg_no),
        if w.has_topic { text(w.topic) } else { "-".into() },
        text(m.message),
    ));
}

unsafe extern "C" fn wk_group_file(user: *mut c_void, m: *const rtm_message) {
    // SAFETY: as in `wk_group_chat`; `file_info` is NULL or valid during the callback.
    let (seen, m) = unsafe { (&mut *user.cast::<WkSeen>(), &*m) };
    // SAFETY: as above.
    let f = unsafe { m.file_info.as_ref() }.expect("a file message's info");
    seen.lines.push(format!(
        "group_file mid {} status {} url {} size {} msg {}",
        m.message_id,
        m.info_status,
        text(f.url),
        f.size,
        text(m.message)
    ));
}

unsafe extern "C" fn wk_kickout(user: *mut c_void) {
    // SAFETY: `user` is the test's WkSeen.
    unsafe { (*user.cast::<WkSeen>()).kicks += 1 };
}

/// The WuKongIM listener through the exports: NULLs, init errors, a plaintext login, a RECV
/// delivered with its string ids and acknowledged, a duplicate acknowledged and not
/// delivered, a kick with its reason, deinit.
#[test]
fn the_wukong_listener_through_the_exports() {
    use engine::wire::wukong::packet::{Recv, build_recv};
    let mut seen = WkSeen::default();
    let mut c = rtm_wk_config_default();
    c.uid = rtm_str::from(b"90001");
    c.token = rtm_str::from(b"tok");
    c.device_id = rtm_str::from(b"dev");
    let entropy = [3u8; 32];
    c.entropy = entropy.as_ptr();
    c.entropy_len = 32;
    c.monitor.user = core::ptr::from_mut(&mut seen).cast();
    c.monitor.push_group_chat = Some(wk_group_chat);
    c.monitor.kickout = Some(wk_kickout);
    c.monitor.push_group_file = Some(wk_group_file);
    // SAFETY: rtm_wk_listener is plain bytes; zeroed is a valid (uninitialised) value.
    let mut storage: Box<rtm_wk_listener> = unsafe { Box::new(core::mem::zeroed()) };
    // One pointer for every call, as a C host has: the listener points into its storage, so
    // a new `&mut` per call would invalidate that (Stacked Borrows).
    let l: *mut rtm_wk_listener = &mut *storage;
    let size = core::mem::size_of::<rtm_wk_listener>();
    let mut consumed = 0usize;
    // SAFETY: pointers are NULL on purpose or point to live test memory; the configuration's
    // pointers outlive the calls.
    unsafe {
        assert_eq!(rtm_wk_listener_init(null_mut(), size, &c), RTM_ERR_NULL);
        assert_eq!(rtm_wk_listener_init(l, size - 1, &c), RTM_ERR_STORAGE);
        assert_eq!(
            rtm_wk_listener_receive(l, 0, null(), 0, &mut consumed),
            RTM_ERR_UNINIT
        );
        let mut short = c;
        short.entropy_len = 8;
        assert_eq!(rtm_wk_listener_init(l, size, &short), RTM_ERR_SHORT_ENTROPY);
        assert_eq!(rtm_wk_listener_init(l, size, &c), RTM_OK);
        assert_eq!(
            rtm_wk_listener_connected(l, 1, rtm_str::from(b"sim")),
            RTM_OK
        );
        let (mut data, mut len) = (null(), 0usize);
        assert_eq!(rtm_wk_listener_transmit(l, &mut data, &mut len), RTM_OK);
        assert!(len > 50 && *data == 0x10, "CONNECT queued");
        assert_eq!(rtm_wk_listener_transmit_done(l, len), RTM_OK);
        // A plaintext CONNACK at version 5.
        let connack = [
            0x21, 22, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        ];
        assert_eq!(
            rtm_wk_listener_receive(l, 2, connack.as_ptr(), connack.len(), &mut consumed),
            RTM_OK
        );
        let mut st = rtm_wk_stats::default();
        assert_eq!(rtm_wk_listener_stats(l, &mut st), RTM_OK, "logged in");
        let recv = Recv {
            flags: 0,
            setting: 0,
            msg_key: b"",
            from_uid: b"alice",
            channel_id: b"30001",
            channel_type: 2,
            expire: None,
            client_msg_no: b"cmn-1",
            stream: None,
            message_id: 77,
            message_seq: 9,
            timestamp: 1_700_000_000,
            topic: None,
            payload: br#"{"type":1,"content":"hi"}"#,
        };
        let mut frame = [0u8; 128];
        let n = build_recv(&mut frame, &recv, 5).unwrap();
        for _ in 0..2 {
            assert_eq!(
                rtm_wk_listener_receive(l, 3, frame.as_ptr(), n, &mut consumed),
                RTM_OK
            );
            assert_eq!(consumed, n);
        }
        // A file message (type 8): its info from the payload, the escaped URL unescaped.
        let file = Recv {
            message_id: 78,
            payload: br#"{"type":8,"url":"https:\/\/x.io\/a.pdf","name":"a.pdf","size":1234}"#,
            ..recv
        };
        let n = build_recv(&mut frame, &file, 5).unwrap();
        assert_eq!(
            rtm_wk_listener_receive(l, 3, frame.as_ptr(), n, &mut consumed),
            RTM_OK
        );
        assert_eq!(
            seen.lines,
            [
                r#"group_chat mid 77 from 0 to 30001 from_uid alice channel 30001 type 2 seq 9 cmn cmn-1 topic - msg {"type":1,"content":"hi"}"#,
                r#"group_file mid 78 status 1 url https://x.io/a.pdf size 1234 msg {"type":8,"url":"https:\/\/x.io\/a.pdf","name":"a.pdf","size":1234}"#
            ]
        );
        assert_eq!(rtm_wk_listener_transmit(l, &mut data, &mut len), RTM_OK);
        assert_eq!(len, 42, "three RECVACKs (the duplicate acknowledged too)");
        assert_eq!(rtm_wk_listener_transmit_done(l, len), RTM_OK);
        assert_eq!(rtm_wk_listener_stats(l, &mut st), RTM_OK);
        assert_eq!((st.delivered, st.duplicates, st.acks), (2, 1, 3));
        // A kick: kickout, then RTM_CLOSE with its reason, passed back to closed.
        let kick = [0x90, 5, 12, 0, 2, b'a', b'b'];
        assert_eq!(
            rtm_wk_listener_receive(l, 4, kick.as_ptr(), kick.len(), &mut consumed),
            RTM_CLOSE
        );
        assert_eq!(seen.kicks, 1);
        let mut r = rtm_close_reason_of(0);
        assert_eq!(rtm_wk_listener_close_reason(l, &mut r), RTM_OK);
        assert_eq!((r.kind, r.code), (RTM_REASON_WK_DISCONNECTED, 12));
        assert_eq!(rtm_wk_listener_closed(l, 5, &r), RTM_OK);
        let mut at = 0;
        assert_eq!(rtm_wk_listener_reconnect_at(l, &mut at), RTM_OK);
        assert!(at >= 5 + 2000, "a kick waits the back-off's first step");
        assert_eq!(rtm_wk_listener_deinit(l), RTM_OK);
        assert_eq!(rtm_wk_listener_deinit(l), RTM_ERR_UNINIT);
    }
}
