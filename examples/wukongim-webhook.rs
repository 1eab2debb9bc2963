//! A WuKongIM webhook receiver that prints one line per monitor callback.
//!
//! ```sh
//! cargo run --features std --example wukongim-webhook
//! cargo run --features std --example wukongim-webhook -- --listen 0.0.0.0:8090 \
//!     [--gids g1,g2] [--rids live-7] [--uids alice,bob] [--events login,logout] [--all] [--seconds 60]
//! ```
//!
//! Point the WuKongIM server at it (`webhook.httpAddr: "http://HOST:8090/wukong"` in its YAML,
//! or `WK_WEBHOOK_HTTPADDR`); the server POSTs `…/wukong?event=msg.notify` (messages, batched
//! every 500 ms), `?event=msg.offline` and `?event=user.onlinestatus` (logins and logouts,
//! batched about every 2 s). Each POST goes through `WkListener::handle_webhook`: the items
//! in the listen set reach the monitor once (a retried batch delivers nothing twice), and the
//! status it returns is answered (200 only when every item was handled, so the server retries
//! the rest). HTTP is `tiny_http`; bodies over 1 MiB are answered 413 unread.
//!
//! Without `--listen`, it starts on a free loopback port and the WuKongIM **simulation**
//! (`crates/wukong-sim`) posts to it: a `msg.notify` batch of every kind, the same batch again
//! (the server's retry), a `msg.offline` message, and a `user.onlinestatus` batch; it exits 0
//! when every expected callback arrived exactly once.
//!
//! Exit codes: 0 success; 1 the demo failed or another error; 2 bad arguments.

use std::io::Read;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rtm_listen::monitor::{Monitor, dispatch};
use rtm_listen::session::MessageEvent;
use rtm_listen::session::wukong::{WkConfig, WkCredentials, WkIds, WkListener};
use wukong_sim::{Msg, demo_messages, webhook};

const USAGE: &str =
    "usage: wukongim-webhook [--listen ADDR] [--gids g1,g2] [--rids r1] [--uids u1,u2] \
[--events login,logout] [--all] [--seconds N]
  without --listen: the demo, the WuKongIM simulation posting to a loopback receiver
  exit codes: 0 ok, 1 failure, 2 bad arguments";

/// The largest body read.
const MAX_BODY: usize = 1 << 20;

#[derive(Default)]
struct Printer {
    messages: Vec<i64>,
    events: Vec<String>,
}

fn text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("<{} bytes binary>", b.len()),
    }
}

impl Printer {
    fn message(&mut self, kind: &str, m: &MessageEvent<'_>) {
        self.messages.push(m.message.mid);
        let (from, channel) = m
            .wukong
            .map(|w| (text(w.recv.from_uid), text(w.recv.channel_id)))
            .unwrap_or_default();
        println!(
            "{kind:<16} from {from} on {channel} mid {} mtype {} msg {}",
            m.message.mid,
            m.message.mtype,
            text(m.message.msg)
        );
    }
}

impl Monitor for Printer {
    fn push_p2p_message(&mut self, m: &MessageEvent<'_>) {
        self.message("pushP2PMessage", m)
    }
    fn push_p2p_chat(&mut self, m: &MessageEvent<'_>) {
        self.message("pushP2PChat", m)
    }
    fn push_p2p_cmd(&mut self, m: &MessageEvent<'_>) {
        self.message("pushP2PCmd", m)
    }
    fn push_p2p_file(&mut self, m: &MessageEvent<'_>) {
        self.message("pushP2PFile", m)
    }
    fn push_group_message(&mut self, m: &MessageEvent<'_>) {
        self.message("pushGroupMessage", m)
    }
    fn push_group_chat(&mut self, m: &MessageEvent<'_>) {
        self.message("pushGroupChat", m)
    }
    fn push_group_cmd(&mut self, m: &MessageEvent<'_>) {
        self.message("pushGroupCmd", m)
    }
    fn push_group_file(&mut self, m: &MessageEvent<'_>) {
        self.message("pushGroupFile", m)
    }
    fn push_room_message(&mut self, m: &MessageEvent<'_>) {
        self.message("pushRoomMessage", m)
    }
    fn push_room_chat(&mut self, m: &MessageEvent<'_>) {
        self.message("pushRoomChat", m)
    }
    fn push_room_cmd(&mut self, m: &MessageEvent<'_>) {
        self.message("pushRoomCmd", m)
    }
    fn push_room_file(&mut self, m: &MessageEvent<'_>) {
        self.message("pushRoomFile", m)
    }
    fn push_event(
        &mut self,
        _: i64,
        event: &[u8],
        uid: i64,
        time: i64,
        endpoint: &[u8],
        data: &[u8],
    ) {
        let e = String::from_utf8_lossy(event).into_owned();
        println!(
            "pushEvent        {e} uid {uid} time {time} endpoint {} data {}",
            text(endpoint),
            text(data)
        );
        self.events.push(e);
    }
}

/// Serves webhook POSTs until `done` holds or `limit` passes.
fn serve(
    server: &tiny_http::Server,
    l: &mut WkListener,
    p: &mut Printer,
    start: Instant,
    limit: Option<Duration>,
    mut done: impl FnMut(&Printer) -> bool,
) -> bool {
    let mut body = Vec::with_capacity(64 * 1024);
    let mut scratch = vec![0u8; MAX_BODY];
    loop {
        if done(p) {
            return true;
        }
        if limit.is_some_and(|l| start.elapsed() >= l) {
            return false;
        }
        let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let event = req
            .url()
            .split_once('?')
            .and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("event=")))
            .unwrap_or("")
            .to_string();
        body.clear();
        let read = req
            .as_reader()
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut body);
        let status = if read.is_err() {
            400
        } else if body.len() > MAX_BODY {
            413
        } else {
            let now = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
            let unix = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
            l.set_unix_time(now, unix);
            let out = l.handle_webhook(now, event.as_bytes(), &body, &mut scratch, |e| {
                dispatch(p, "webhook", &e)
            });
            if let Some(e) = out.error {
                println!("webhook {event}: answered {} ({e})", out.status);
            }
            out.status
        };
        let _ = req.respond(tiny_http::Response::empty(status));
    }
}

fn split(v: &str) -> Vec<String> {
    v.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn main() -> ExitCode {
    let mut listen = None;
    let (mut gids, mut rids, mut uids, mut events) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut all = false;
    let mut seconds = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next();
        let ok = match a.as_str() {
            "--listen" => value().map(|v| listen = Some(v)).is_some(),
            "--gids" => value().map(|v| gids = split(&v)).is_some(),
            "--rids" => value().map(|v| rids = split(&v)).is_some(),
            "--uids" => value().map(|v| uids = split(&v)).is_some(),
            "--events" => value().map(|v| events = split(&v)).is_some(),
            "--seconds" => value()
                .and_then(|v| v.parse().ok())
                .map(|s: u64| seconds = Some(s))
                .is_some(),
            "--all" => {
                all = true;
                true
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => false,
        };
        if !ok {
            eprintln!("wukongim-webhook: bad argument {a:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let mut entropy = [0u8; 32];
    if getrandom::fill(&mut entropy).is_err() {
        eprintln!("wukongim-webhook: no entropy");
        return ExitCode::from(1);
    }
    // A webhook-only listener (its socket is never connected): the listen set and the
    // duplicate filter.
    let creds = WkCredentials {
        uid: "webhook",
        token: "",
        device_id: "webhook",
    };
    let Ok(mut l) = WkListener::new(WkConfig::DEFAULT, creds, &entropy) else {
        return ExitCode::from(1);
    };
    let demo = listen.is_none();
    if all || demo {
        l.set_listen_all(true, true, true, true);
    }
    if let Err(e) = l.add_listen(WkIds {
        gids: &gids,
        rids: &rids,
        uids: &uids,
        events: &events,
    }) {
        eprintln!("wukongim-webhook: {e}\n{USAGE}");
        return ExitCode::from(2);
    }
    let addr = listen.unwrap_or_else(|| "127.0.0.1:0".into());
    let server = match tiny_http::Server::http(&addr) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wukongim-webhook: cannot listen on {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    let local = server
        .server_addr()
        .to_ip()
        .map(|a| a.to_string())
        .unwrap_or(addr);
    let mut p = Printer::default();
    let start = Instant::now();
    if !demo {
        println!("receiving WuKongIM webhooks on http://{local}/ (any path, ?event=...)");
        serve(
            &server,
            &mut l,
            &mut p,
            start,
            seconds.map(Duration::from_secs),
            |_| false,
        );
        return ExitCode::SUCCESS;
    }
    println!("receiving on http://{local}/wukong; the WuKongIM SIMULATION posts to it");
    let base = format!("http://{local}/wukong");
    let msgs = demo_messages(3000);
    let offline = Msg::new(
        3100,
        "alice",
        "bob",
        1,
        br#"{"type":1,"content":"while you were away"}"#,
    );
    let poster = std::thread::spawn(move || {
        let pause = Duration::from_millis(50);
        let notify = webhook::notify_body(&msgs);
        let presence = webhook::presence_body(&[
            webhook::presence("alice", 1, true, 42, 1, 2),
            webhook::presence("bo-b", 0, false, 17, 0, 1),
        ]);
        [
            webhook::deliver(&base, "msg.notify", &notify, 5, pause),
            // The server's retry of the same batch (say a 200 was lost).
            webhook::deliver(&base, "msg.notify", &notify, 5, pause),
            webhook::deliver(
                &base,
                "msg.offline",
                &webhook::offline_body(&offline, &["bob"]),
                1,
                pause,
            ),
            webhook::deliver(&base, "user.onlinestatus", &presence, 5, pause),
        ]
    });
    let ok = serve(
        &server,
        &mut l,
        &mut p,
        start,
        Some(Duration::from_secs(20)),
        |p| p.messages.len() >= 7 && p.events.len() >= 2,
    );
    let statuses = poster.join().unwrap_or_default();
    let want: Vec<i64> = (3000..3006).chain([3100]).collect();
    if !ok
        || p.messages != want
        || p.events != ["login", "logout"]
        || statuses.iter().any(|s| s != &[200])
    {
        eprintln!(
            "wukongim-webhook: demo failed: messages {:?}, events {:?}, statuses {statuses:?}",
            p.messages, p.events
        );
        return ExitCode::from(1);
    }
    println!(
        "demo ok: 7 messages delivered once each (a retried batch delivered nothing twice), 2 presence events, every POST answered 200"
    );
    ExitCode::SUCCESS
}
