//! With the `log` feature the engine's lines reach the `log` facade, formatted, and the secret
//! never appears in them.
//! (With `defmt` on too, the lines go to defmt instead: nothing to check here.)
#![cfg(not(feature = "defmt"))]

mod support;

use std::sync::Mutex;

use rmpv::Value;
use rtm_listen::rtm::listen::ListenIds;
use rtm_listen::session::CloseReason;
use support::*;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &log::Record<'_>) {
        LINES
            .lock()
            .unwrap()
            .push(format!("{} {} {}", r.level(), r.target(), r.args()));
    }
    fn flush(&self) {}
}

#[test]
fn engine_lines_reach_the_log_facade_without_the_secret() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let mut l = listener();
    l.connected(0);
    events(&mut l);
    let ids = ListenIds {
        gids: &[1],
        rids: &[],
        uids: &[],
        events: &[] as &[&str],
    };
    l.set_listen(0, &ids).unwrap();
    let q = sent(&mut l);
    feed(
        &mut l,
        10,
        &err(q[0].seq().unwrap(), 200_002, "invalid pid or sign"),
    );
    feed(
        &mut l,
        20,
        &quest(Some(9), "pushfancy", &Value::Map(vec![])),
    );
    l.closed(30, CloseReason::PeerClosed);
    events(&mut l);
    let lines = LINES.lock().unwrap().clone();
    let want = [
        "INFO rtm_listen connected (reconnect: false)",
        "WARN rtm_listen bad push: unknown method",
        "INFO rtm_listen closed; reconnect in 0 ms",
    ];
    for w in want {
        assert!(lines.iter().any(|l| l == w), "{w:?} not in {lines:?}");
    }
    let secret = String::from_utf8_lossy(SECRET).into_owned();
    assert!(lines.iter().all(|l| !l.contains(&secret)), "{lines:?}");
}
