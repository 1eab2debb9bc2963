//! Building a listener in place: `Listener::unconfigured` (a `const fn`) then `configure`
//! gives the same listener as `Listener::new`, and `configure` resets a used one.

mod support;

use rtm_listen::rtm::listen::{Credentials, ListenIds};
use rtm_listen::session::{Config, ConfigError, Listener};
use support::*;

fn creds() -> Credentials<'static> {
    Credentials {
        pid: PID,
        secret: SECRET,
    }
}

/// Connects, asks for some ids, takes a push; returns what went on the wire and the events.
fn session(l: &mut L) -> (Vec<Wire>, Vec<String>) {
    l.set_unix_time(0, UNIX_MS);
    l.connected(0);
    let ids = ListenIds {
        gids: &[7],
        rids: &[],
        uids: &[9],
        events: &["login"],
    };
    l.set_listen(1, &ids).expect("command");
    let mut ev = events(l);
    let mut wire = sent(l);
    ev.extend(feed(l, 2, &pushmsg(Some(5), 1, 2, 77, 30, "hi")));
    wire.extend(sent(l));
    (wire, ev)
}

#[test]
fn unconfigured_then_configure_equals_new() {
    static STORAGE: std::sync::Mutex<L> = std::sync::Mutex::new(Listener::unconfigured());
    let mut guard = STORAGE.lock().expect("lock");
    let built: &mut L = &mut guard;
    assert_eq!(built.pending_commands(), 0);
    built
        .configure(Config::DEFAULT, creds(), 0x1234_5678)
        .expect("configure");
    let mut made = Box::new(Listener::new(Config::DEFAULT, creds(), 0x1234_5678).expect("new"));
    let a = session(built);
    let b = session(&mut made);
    assert!(!a.0.is_empty() && !a.1.is_empty());
    assert_eq!(a, b, "in place and by value behave the same");
}

#[test]
fn configure_resets_a_used_listener() {
    let mut l = listener();
    let first = session(&mut l);
    assert!(l.is_connected());
    assert_eq!(l.stats().pushes, 1);
    l.configure(Config::DEFAULT, creds(), 0x1234_5678)
        .expect("configure");
    assert!(!l.is_connected());
    assert_eq!(l.stats().pushes, 0);
    assert_eq!(l.desired_state().ids.len(), 0);
    assert_eq!(l.pending_commands(), 0);
    // The same session again, from scratch: the same bytes (seqs and salts restart).
    assert_eq!(session(&mut l), first);
}

#[test]
fn configure_refuses_a_secret_too_long() {
    let mut l = listener();
    let long = [b'x'; 65];
    let creds = Credentials {
        pid: PID,
        secret: &long,
    };
    assert_eq!(
        l.configure(Config::DEFAULT, creds, 1),
        Err(ConfigError::SecretTooLong)
    );
}

/// The C ABI builds a listener by writing zero bytes into the caller's storage and configuring
/// it in place: zero bytes must be a valid listener, the unconfigured one, in every build
/// (with the `encryption` feature too: its state must be zero bytes when off).
#[test]
fn zero_bytes_are_the_unconfigured_listener() {
    let zeroed: Box<std::mem::MaybeUninit<L>> = Box::new(std::mem::MaybeUninit::zeroed());
    // SAFETY: what this test checks; every field of `Listener` is an integer, a bool, an array
    // of them, or an enum/Option whose zero representation is a valid value (an `Option`
    // without a niche stores its tag first, `None` = 0).
    let zeroed: Box<L> = unsafe { Box::from_raw(Box::into_raw(zeroed).cast::<L>()) };
    let unconfigured: Box<L> = Box::new(Listener::unconfigured());
    assert_eq!(format!("{zeroed:?}"), format!("{unconfigured:?}"));
}
