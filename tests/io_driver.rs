//! The embedded-io driver over an in-memory transport.

mod support;

use std::collections::VecDeque;

use embedded_io::{ErrorKind, ErrorType, Read, Write};
use rtm_listen::driver::io::{Clock, IoDriver, Poll};
use rtm_listen::monitor::Monitor;
use rtm_listen::rtm::listen::{Credentials, ListenIds};
use rtm_listen::session::{Config, Listener, MessageEvent};
use support::*;

#[derive(Debug)]
struct Timeout;

impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("timed out")
    }
}

impl std::error::Error for Timeout {}

impl embedded_io::Error for Timeout {
    fn kind(&self) -> ErrorKind {
        ErrorKind::TimedOut
    }
}

/// Reads come from a script of chunks; writes are collected, accepting at most 5 bytes each.
struct Mock {
    input: VecDeque<Vec<u8>>,
    output: Vec<u8>,
    eof: bool,
}

impl ErrorType for Mock {
    type Error = Timeout;
}

impl Read for Mock {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Timeout> {
        match self.input.front_mut() {
            Some(chunk) => {
                let n = chunk.len().min(buf.len());
                buf[..n].copy_from_slice(&chunk[..n]);
                chunk.drain(..n);
                if chunk.is_empty() {
                    self.input.pop_front();
                }
                Ok(n)
            }
            None if self.eof => Ok(0),
            None => Err(Timeout),
        }
    }
}

impl Write for Mock {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Timeout> {
        let n = buf.len().min(5);
        self.output.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), Timeout> {
        Ok(())
    }
}

struct FakeClock(u64);

impl Clock for FakeClock {
    fn now_ms(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
    fn unix_ms(&mut self) -> i64 {
        UNIX_MS
    }
}

#[derive(Default)]
struct Chats(Vec<String>);

impl Monitor for Chats {
    fn push_group_chat(&mut self, m: &MessageEvent<'_>) {
        self.0
            .push(String::from_utf8_lossy(m.message.msg).into_owned());
    }
    fn closed(&mut self, _: &str, by_error: bool, _: bool) {
        self.0.push(format!("closed {by_error}"));
    }
}

#[test]
fn io_driver_answers_pushes_and_reports_eof() {
    let mut input = pushgroupmsg(Some(1), 1, 2, 3, 30, "hello");
    input.extend(pushgroupmsg(Some(2), 1, 2, 4, 30, "world"));
    // Split the input into 7-byte reads.
    let chunks: VecDeque<Vec<u8>> = input.chunks(7).map(<[u8]>::to_vec).collect();
    let mock = Mock {
        input: chunks,
        output: Vec::new(),
        eof: false,
    };
    let creds = Credentials {
        pid: PID,
        secret: SECRET,
    };
    let listener = Listener::new(Config::DEFAULT, creds, 9).unwrap();
    let mut d = IoDriver::new(listener, mock, FakeClock(0), "uart0");
    let now = d.now_ms();
    d.listener()
        .add_listen(
            now,
            &ListenIds {
                gids: &[2],
                rids: &[],
                uids: &[],
                events: &["login"],
            },
        )
        .unwrap();
    let mut mon = Chats::default();
    for _ in 0..50 {
        assert_eq!(d.poll(&mut mon), Poll::Connected);
    }
    assert_eq!(mon.0, vec!["hello", "world"]);
    let mut t = d.take_transport().unwrap();
    let frames = parse_wire(&t.output);
    let methods: Vec<_> = frames
        .iter()
        .map(|f| f.method().unwrap_or("answer").to_string())
        .collect();
    // Nothing is confirmed on a new connection, so the desired state goes out whole.
    assert_eq!(methods, vec!["setlisten", "answer", "answer"]);
    // End of stream closes the connection and reports it (closed by the peer: not an error).
    t.eof = true;
    d.reconnected(t);
    assert_eq!(d.poll(&mut mon), Poll::Closed);
    assert_eq!(mon.0.last().map(String::as_str), Some("closed false"));
    assert!(d.listener().reconnect_at().is_some());
}
