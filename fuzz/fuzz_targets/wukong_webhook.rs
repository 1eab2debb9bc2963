//! Target 8: WuKongIM webhook ingest (issue 14), the body parsers and `handle_webhook`.
//!
//! Input: `[event byte] [scratch byte] body...`: the event is `msg.notify`, `msg.offline`,
//! `user.onlinestatus` or an unknown name by `byte % 4`; the scratch is `16 × (1 + byte)`
//! bytes. Everything is listened to.
//!
//! Invariants (each a panic when broken):
//! - no panic from input;
//! - the status is 200, 400 or 413, with an error exactly when it is not 200 (413 exactly for
//!   a scratch that is too small);
//! - a message id is delivered at most once, however often the same body is posted (the
//!   server's retries): a second post delivers no message again;
//! - every delivered message carries its WuKongIM fields with its id.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use rtm_listen::session::Event;
use rtm_listen::session::wukong::{WkConfig, WkCredentials, WkListener};
use rtm_listen::wire::wukong::webhook::WebhookError;

fuzz_target!(|data: &[u8]| {
    let [e, sc, body @ ..] = data else {
        return;
    };
    let event: &[u8] = match e % 4 {
        0 => b"msg.notify",
        1 => b"msg.offline",
        2 => b"user.onlinestatus",
        _ => b"msg.unknown",
    };
    let creds = WkCredentials {
        uid: "monitor",
        token: "t",
        device_id: "d",
    };
    let mut l = WkListener::<512, 256>::sized(WkConfig::DEFAULT, creds, &[2; 32]).expect("listener");
    l.set_listen_all(true, true, true, true);
    let mut scratch = vec![0u8; 16 * (1 + usize::from(*sc))];
    let mut seen = HashSet::new();
    for round in 0..2 {
        let mut messages = 0;
        let out = l.handle_webhook(1, event, body, &mut scratch, |ev| {
            if let Event::Message(m) = ev {
                let w = m.wukong.expect("fields");
                assert_eq!(w.recv.message_id, m.message.mid);
                assert!(seen.insert(m.message.mid), "delivered twice: {}", m.message.mid);
                messages += 1;
            }
        });
        match out.status {
            200 => assert!(out.error.is_none()),
            413 => assert_eq!(out.error, Some(WebhookError::ScratchFull)),
            400 => assert!(out.error.is_some() && out.error != Some(WebhookError::ScratchFull)),
            s => panic!("status {s}"),
        }
        if round == 1 {
            assert_eq!(messages, 0, "a retried body delivered a message again");
        }
    }
});
