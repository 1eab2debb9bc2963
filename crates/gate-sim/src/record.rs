//! What the gate records for tests to read.

use std::time::{Duration, Instant};

use rmpv::Value;

/// How the gate answered a quest from the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Accepted: the empty map (or `{ts}` for `*ping`). For a oneway quest: applied, not answered.
    Ok,
    /// Refused with status 1 and `{code, ex}` (for a oneway quest: refused, not answered).
    Error {
        /// The error code (e.g. 200002 INVALID_PID_OR_SIGN).
        code: i64,
        /// The message.
        ex: String,
    },
    /// Not processed and not answered, because answers were withheld.
    Withheld,
}

impl Outcome {
    /// The error code, 0 for [`Outcome::Ok`], -1 for [`Outcome::Withheld`].
    pub fn code(&self) -> i64 {
        match self {
            Outcome::Ok => 0,
            Outcome::Error { code, .. } => *code,
            Outcome::Withheld => -1,
        }
    }
}

/// One quest received from a client.
///
/// [`Gate::quests`](crate::Gate::quests) lists them in the order they were **handled**
/// (applied to the listen state and answered), which is the arrival order except for the
/// batches of [`Gate::set_reverse_pipelined`](crate::Gate::set_reverse_pipelined); `arrival`
/// keeps the arrival order.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestRecord {
    /// The connection id (1, 2, … in accept order).
    pub conn: u64,
    /// `Some` for a twoway quest.
    pub seq: Option<u32>,
    /// The method name (lossy UTF-8).
    pub method: String,
    /// The decoded payload (decoded with rmpv, independently of the engine).
    pub payload: Value,
    /// False when any of `gids`, `rids`, `uids`, `events` was present and not a msgpack array.
    pub ids_were_arrays: bool,
    /// How the gate answered.
    pub outcome: Outcome,
    /// The quest's index among the quests received on its connection, in arrival order
    /// (0, 1, 2, …). Within a reverse-pipelined batch the records show it descending.
    pub arrival: u64,
    /// How many quests were handled together with this one: 1, or the size of its
    /// reverse-pipelined batch.
    pub batch_len: usize,
}

/// One answer from a client to a twoway push.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerRecord {
    /// The connection id.
    pub conn: u64,
    /// The push's seq.
    pub seq: u32,
    /// The push's method.
    pub method: String,
    /// The FPNN status (0 = OK).
    pub status: u8,
    /// The decoded payload (the empty map for a correct OK answer).
    pub payload: Value,
    /// Time from sending the push to receiving the answer.
    pub latency: Duration,
}

impl AnswerRecord {
    /// The integer `code` of the payload (`{code, ex}` in an error answer, status ≠ 0).
    pub fn code(&self) -> Option<i64> {
        map_get(&self.payload, "code").and_then(Value::as_i64)
    }

    /// The string `ex` of the payload (`{code, ex}` in an error answer, status ≠ 0).
    pub fn ex(&self) -> Option<&str> {
        map_get(&self.payload, "ex").and_then(Value::as_str)
    }

    /// Whether it is an OK answer: status 0.
    pub fn is_ok(&self) -> bool {
        self.status == 0
    }
}

/// The value of string key `key` in a map value.
pub(crate) fn map_get<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// Why an answer matched no outstanding push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrayKind {
    /// The seq matches no twoway push on this connection. Answers to **oneway** pushes land
    /// here: oneway quests carry no seq, so nothing can match them.
    Unknown,
    /// The push was already answered.
    Repeat,
}

/// An answer that matched no outstanding twoway push (a protocol violation by the client).
#[derive(Debug, Clone, PartialEq)]
pub struct StrayAnswer {
    /// The connection id.
    pub conn: u64,
    /// The seq the client used.
    pub seq: u32,
    /// The FPNN status.
    pub status: u8,
    /// The decoded payload.
    pub payload: Value,
    /// Why it is stray.
    pub kind: StrayKind,
}

/// A twoway push not yet answered.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingPush {
    /// The connection id (the connection may have closed since).
    pub conn: u64,
    /// The push's seq.
    pub seq: u32,
    /// The push's method.
    pub method: String,
    /// When it was sent.
    pub sent_at: Instant,
}

/// A push frame the gate wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct SentPush {
    /// The connection id.
    pub conn: u64,
    /// `Some` for a twoway push.
    pub seq: Option<u32>,
    /// The method.
    pub method: String,
    /// The payload sent.
    pub payload: Value,
    /// Only the first half of the frame was written (see `Gate::drop_connections_mid_frame`).
    pub truncated: bool,
}

/// A frame from a client that broke the protocol; the gate closed that connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedRecord {
    /// The connection id.
    pub conn: u64,
    /// What was wrong.
    pub reason: String,
}

/// A listen parameter with the wrong msgpack shape (e.g. ids sent as a map), answered with
/// 200034 INVALID_PARAMETER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The connection id.
    pub conn: u64,
    /// The quest's method.
    pub method: String,
    /// The offending key.
    pub key: String,
    /// What was found instead.
    pub detail: String,
}

/// How a `*key` quest ended (see [`KeyExchangeRecord`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyExchangeOutcome {
    /// The exchange succeeded: the empty OK answer went out already encrypted, and both
    /// directions are encrypted from then on.
    Encrypted {
        /// Stream or package mode, from the quest's `streamMode`.
        mode: crate::EncryptionMode,
        /// 128 or 256, from the quest's `bits`.
        bits: u16,
    },
    /// Answered in plaintext with an error (status 1, `{code, ex}`) because of
    /// [`Gate::set_key_error`](crate::Gate::set_key_error); the connection stays plaintext and
    /// open.
    ErrorAnswered {
        /// The error code sent.
        code: i64,
    },
    /// The gate closed the connection without an answer, as the C++ server does: a bad
    /// `publicKey`, `bits` other than 128/256, `*key` not the first frame, a oneway `*key`,
    /// or a gate without a [`ServerKey`](crate::ServerKey). The reason, for humans.
    Closed(String),
}

/// One `*key` quest received (these are not in [`Gate::quests`](crate::Gate::quests)).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyExchangeRecord {
    /// The connection id.
    pub conn: u64,
    /// `Some` for a twoway quest (the only kind that can succeed).
    pub seq: Option<u32>,
    /// The decoded payload (`Nil` if it was not a msgpack map).
    pub payload: Value,
    /// True when `publicKey` came as msgpack bin (Go, Python, the reference's vector), false
    /// when as str (the C++ client) or missing.
    pub public_key_was_bin: bool,
    /// How it ended.
    pub outcome: KeyExchangeOutcome,
}

impl KeyExchangeRecord {
    /// True for [`KeyExchangeOutcome::Encrypted`].
    pub fn encrypted(&self) -> bool {
        matches!(self.outcome, KeyExchangeOutcome::Encrypted { .. })
    }
}
