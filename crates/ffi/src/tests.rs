//! Rust-side tests of the exports (NULLs, storage, re-entry) and the header drift check.

use core::ffi::c_void;
use core::ptr::{null, null_mut};

use super::*;

#[test]
fn header_matches_a_fresh_generation() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).unwrap();
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
    }
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
    let mut l = boxed();
    let mut r = Reentry {
        listener: &mut *l,
        seen: vec![],
    };
    let mut m = no_monitor();
    m.user = (&raw mut r).cast();
    m.connected = Some(reenter);
    let cfg = config(m);
    // SAFETY: the pointers point to live test memory; `r` outlives the listener's use of it.
    unsafe {
        assert_eq!(
            rtm_listener_init(&mut *l, size_of::<rtm_listener>(), &cfg),
            RTM_OK
        );
        assert_eq!(
            rtm_listener_connected(&mut *l, 0, rtm_str::from(b"here:1")),
            RTM_OK
        );
        assert_eq!(r.seen, vec![RTM_ERR_BUSY, RTM_ERR_BUSY]);
        let mut id = 0;
        let ids = rtm_ids {
            gids: [5i64].as_ptr(),
            gids_len: 1,
            rids: null(),
            rids_len: 0,
            uids: null(),
            uids_len: 0,
            events: [rtm_str::from(b"login")].as_ptr(),
            events_len: 1,
        };
        assert_eq!(rtm_listen_add(&mut *l, 0, &ids, &mut id), RTM_OK);
        assert_eq!(id, 1);
        let (mut data, mut len) = (null(), 0);
        assert_eq!(rtm_listener_transmit(&mut *l, &mut data, &mut len), RTM_OK);
        assert!(len > 0);
        assert_eq!(
            rtm_listener_transmit_done(&mut *l, len + 1),
            RTM_ERR_INVALID_ARG
        );
        assert_eq!(rtm_listener_transmit_done(&mut *l, len), RTM_OK);
        let bad = rtm_ids {
            events: [rtm_str::from(b"typing")].as_ptr(),
            ..ids
        };
        assert_eq!(
            rtm_listen_add(&mut *l, 0, &bad, &mut id),
            RTM_ERR_UNSUPPORTED_EVENT
        );
        let nulls = rtm_ids {
            gids: null(),
            ..ids
        };
        assert_eq!(rtm_listen_add(&mut *l, 0, &nulls, &mut id), RTM_ERR_NULL);
    }
}
