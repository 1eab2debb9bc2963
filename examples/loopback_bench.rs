//! End-to-end throughput over loopback TCP: one listener, driven by the std driver, receiving
//! pushes from a server thread as fast as it can take them and answering each.
//!
//! ```sh
//! cargo run --release --features std --example loopback_bench -- [pushes]
//! ```
//!
//! The server thread writes pre-encoded `pushgroupmsg` frames (the recorded 101-byte cmd push,
//! each with its own seq and mid) in large writes and reads the answers concurrently. The
//! listener runs on the main thread through `TcpDriver::step`. Reported: pushes per second
//! (first byte sent to last answer received), and the listener thread's CPU time per push
//! (from `/proc/thread-self/schedstat`, Linux).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rtm_listen::driver::tcp::TcpDriver;
use rtm_listen::monitor::Monitor;
use rtm_listen::rtm::listen::Credentials;
use rtm_listen::session::{Config, FixedListener, MessageEvent};
use rtm_listen::wire::frame::{Payload, build_quest};
use rtm_listen::wire::msgpack::{Sink, Writer};

struct Cmd {
    mid: i64,
}

impl Payload for Cmd {
    fn encode<S: Sink>(&self, w: &mut Writer<S>) {
        w.map_len(7);
        w.str(b"from");
        w.int(1001);
        w.str(b"gid");
        w.int(2001);
        w.str(b"mid");
        w.int(self.mid);
        w.str(b"mtype");
        w.int(32);
        w.str(b"msg");
        w.str(b"cmd-body");
        w.str(b"attrs");
        w.str(b"{}");
        w.str(b"mtime");
        w.int(1_700_000_000_457);
    }
}

#[derive(Default)]
struct Count(usize);

impl Monitor for Count {
    fn push_group_cmd(&mut self, _: &MessageEvent<'_>) {
        self.0 += 1;
    }
}

/// CPU time of the calling thread in nanoseconds.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let pushes: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let mut stream = Vec::with_capacity(pushes * 101);
    let mut frame = [0u8; 128];
    for i in 0..pushes {
        let n = build_quest(
            &mut frame,
            Some(i as u32 + 1),
            "pushgroupmsg",
            &Cmd { mid: i as i64 },
        )
        .expect("frame");
        stream.extend_from_slice(&frame[..n]);
    }
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = server.local_addr().expect("addr");
    let answered = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let answered = &answered;
        let stream = &stream;
        let server_thread = s.spawn(move || {
            let (conn, _) = server.accept().expect("accept");
            conn.set_nodelay(true).ok();
            let mut reader = conn.try_clone().expect("clone");
            let start = Instant::now();
            let writer = std::thread::spawn({
                let mut conn = conn.try_clone().expect("clone");
                let data = stream.clone();
                move || conn.write_all(&data).expect("write")
            });
            // Each answer is 17 bytes.
            let mut buf = vec![0u8; 64 * 1024];
            let mut bytes = 0usize;
            while bytes < pushes * 17 {
                let n = reader.read(&mut buf).expect("read");
                assert!(n > 0, "listener closed early");
                bytes += n;
            }
            let elapsed = start.elapsed();
            answered.store(bytes / 17, Ordering::SeqCst);
            writer.join().expect("writer");
            elapsed
        });
        let creds = Credentials {
            pid: 1,
            secret: b"s",
        };
        let listener =
            FixedListener::<65536, 16384>::sized(Config::DEFAULT, creds, 1).expect("listener");
        let mut driver = TcpDriver::new(addr.to_string(), listener);
        let mut count = Count::default();
        let cpu0 = thread_cpu_ns();
        while answered.load(Ordering::SeqCst) < pushes {
            driver.step(&mut count, Duration::from_millis(5));
            if count.0 == pushes && driver.listener().transmit().is_empty() {
                // Everything delivered and answered on our side; wait for the server to read.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let cpu = thread_cpu_ns() - cpu0;
        let elapsed = server_thread.join().expect("server");
        assert_eq!(count.0, pushes, "every push delivered once");
        let rate = pushes as f64 / elapsed.as_secs_f64();
        println!("pushes            {pushes}");
        println!("wall time         {:.3} s", elapsed.as_secs_f64());
        println!("throughput        {:.0} pushes/s", rate);
        println!(
            "listener CPU      {:.3} s total, {:.0} ns per push (decode, dedup, dispatch, answer, socket I/O)",
            cpu as f64 / 1e9,
            cpu as f64 / pushes as f64
        );
    });
}
