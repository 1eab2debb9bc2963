//! The deterministic demo script (the binary's `--script demo`), described in the crate docs.

use std::fmt;
use std::time::{Duration, Instant};

use crate::{Body, Event, FileSpec, Gate, ListenState, Push, Target};

/// The user the client must listen to (P2P pushes go `to` it; the login event is about it).
pub const UID: i64 = 1001;
/// The group the client must listen to.
pub const GID: i64 = 2001;
/// The room the client must listen to.
pub const RID: i64 = 3001;
/// The event the client must listen to.
pub const EVENT: &str = "login";
/// The sender of every message.
pub const FROM: i64 = 1002;
/// The `mtime` of every message.
pub const MTIME: i64 = 1_700_000_000_000;
/// The `time` of the event.
pub const EVENT_TIME: i64 = 1_700_000_000;
/// The mid of the oneway push.
pub const ONEWAY_MID: i64 = 901;
/// How long the script waits for the first listening connection.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);
/// The cap on the whole script.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(20);

/// Whether a connection in `state` receives every push of the script (by ids or by flags).
pub fn ready(state: &ListenState) -> bool {
    state.receives_p2p(UID)
        && state.receives_group(GID)
        && state.receives_room(RID)
        && state.receives_event(EVENT)
}

fn at(mut push: Push) -> Push {
    if let Some(m) = push.message_mut() {
        m.from = FROM;
        m.mtime = MTIME;
    }
    push
}

/// The five messages to one target: chat, audio, cmd, file, generic (mids `base+1..=base+5`).
fn five(target: Target, name: &str, base: i64, file: FileSpec) -> Vec<Push> {
    vec![
        at(Push::chat(target, FROM, base + 1, &format!("hello {name}"))),
        at(Push::audio(target, FROM, base + 2, &[1, 2, 3, 4])),
        at(Push::cmd(target, FROM, base + 3, &format!("cmd {name}"))),
        at(Push::file(target, FROM, base + 4, &file)),
        at(Push::message(
            target,
            FROM,
            base + 5,
            1,
            Body::Text(format!("message {name}")),
        )),
    ]
}

/// The 19 pushes of step 2, in order (the last one oneway).
pub fn first_pushes() -> Vec<Push> {
    let mut v = Vec::new();
    v.extend(five(
        Target::P2p(UID),
        "p2p",
        100,
        FileSpec::audio("http://127.0.0.1/f/104.amr", 1024, "en", 3000)
            .with_custom("{\"k\":\"v\"}"),
    ));
    v.extend(five(
        Target::Group(GID),
        "group",
        200,
        FileSpec::image(
            "http://127.0.0.1/f/204.png",
            2048,
            "http://127.0.0.1/f/204s.png",
        ),
    ));
    v.extend(five(
        Target::Room(RID),
        "room",
        300,
        FileSpec::file("http://127.0.0.1/f/304.bin", 4096),
    ));
    v.push(Push::Event {
        event: Event {
            pid: None,
            event: EVENT.to_owned(),
            uid: UID,
            time: EVENT_TIME,
            endpoint: "127.0.0.1:40000".to_owned(),
            data: Some("demo".to_owned()),
        },
        oneway: false,
    });
    v.push(Push::ping());
    v.push(v[0].clone());
    v.push(at(Push::chat(Target::Group(GID), FROM, ONEWAY_MID, "oneway")).oneway());
    v
}

/// The three chats of step 6, in order.
pub fn after_reconnect_pushes() -> Vec<Push> {
    [Target::P2p(UID), Target::Group(GID), Target::Room(RID)]
        .into_iter()
        .zip([106, 206, 306])
        .map(|(t, mid)| at(Push::chat(t, FROM, mid, "after reconnect")))
        .collect()
}

/// What a successful run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Complete push frames written.
    pub pushes: usize,
    /// Answers to them received.
    pub answered: usize,
    /// Connections accepted after the mid-frame drop.
    pub reconnects: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SCRIPT OK pushes={} answered={} reconnects={}",
            self.pushes, self.answered, self.reconnects
        )
    }
}

/// Pushes `batch` in order; returns (frames written, twoway frames written).
fn send(
    gate: &Gate,
    batch: Vec<Push>,
    log: &mut dyn FnMut(&str),
) -> Result<(usize, usize), String> {
    let (mut pushes, mut twoway) = (0, 0);
    for p in batch {
        let (method, oneway) = (p.method().to_owned(), p.is_oneway());
        let mid = match &p {
            Push::Message { message, .. } => message.mid.to_string(),
            _ => "-".to_owned(),
        };
        let n = gate.push(p);
        log(&format!(
            "pushed {method} mid {mid} oneway {oneway} to {n} connection(s)"
        ));
        if n == 0 {
            return Err(format!("push {method} mid {mid} reached no connection"));
        }
        pushes += n;
        if !oneway {
            twoway += n;
        }
    }
    Ok((pushes, twoway))
}

/// Waits until `expected` answers arrived after the first `base`, all of them OK.
fn check_answers(gate: &Gate, base: usize, expected: usize, until: Instant) -> Result<(), String> {
    let left = until.saturating_duration_since(Instant::now());
    if !gate.wait_answers(base + expected, left) {
        let got = gate.answers().len() - base;
        return Err(format!(
            "{got} of {expected} twoway pushes answered in time"
        ));
    }
    if let Some(a) = gate.answers()[base..].iter().find(|a| a.status != 0) {
        return Err(format!(
            "{} seq {} answered with status {} {:?}",
            a.method, a.seq, a.status, a.payload
        ));
    }
    Ok(())
}

/// Runs the script against `gate`; progress lines go to `log`. The error is the reason to
/// print after `SCRIPT FAIL`.
pub fn run(gate: &Gate, log: &mut dyn FnMut(&str)) -> Result<Summary, String> {
    let deadline = Instant::now() + TOTAL_TIMEOUT;
    let left = || deadline.saturating_duration_since(Instant::now());
    let answers0 = gate.answers().len();
    let stray0 = gate.stray_answers().len();

    log("waiting for a connection listening to uid 1001, gid 2001, rid 3001, event login");
    if !gate.wait_listen(ready, START_TIMEOUT.min(left())) {
        return Err("no connection listened to uid 1001, gid 2001, rid 3001 and login".into());
    }
    let (mut pushes, mut twoway) = send(gate, first_pushes(), log)?;
    check_answers(gate, answers0, twoway, deadline).map_err(|e| format!("before the drop: {e}"))?;

    let accepted_before = gate.total_connections_accepted();
    let dropped = gate.drop_connections_mid_frame();
    log(&format!("dropped {dropped} connection(s) mid-frame"));
    if dropped == 0 {
        return Err("no connection to drop".into());
    }
    if gate
        .wait_listen_conn(|id, s| id > accepted_before && ready(s), left())
        .is_none()
    {
        return Err("no reconnection with the listen state restored".into());
    }
    log("listen state restored on a new connection");

    let (p, t) = send(gate, after_reconnect_pushes(), log)?;
    pushes += p;
    twoway += t;
    check_answers(gate, answers0, twoway, deadline)
        .map_err(|e| format!("after the reconnect: {e}"))?;
    let stray = gate.stray_answers().len() - stray0;
    if stray > 0 {
        return Err(format!(
            "{stray} answer(s) matched no twoway push (an answer to the oneway push?)"
        ));
    }
    Ok(Summary {
        pushes,
        answered: gate.answers().len() - answers0,
        reconnects: gate.total_connections_accepted() - accepted_before,
    })
}
