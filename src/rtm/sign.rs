//! Quest authentication: `sign = upper(hex(md5("pid:secret:salt:method:ts")))` (reference §5).
//!
//! Speed builds hash with the md-5 crate, size builds with the compact MD5 of `rtm::digest`.

#[cfg(rtm_opt_size)]
use super::digest::Compact as Md5;
#[cfg(not(rtm_opt_size))]
use md5::{Digest, Md5};

use crate::arith::Decimal;

/// The 32 upper-case hex digits of a quest signature.
pub type Sign = [u8; 32];

/// The four authentication values that lead every server-side quest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Auth {
    /// Project id.
    pub pid: u32,
    /// Upper-case hex MD5 signature over pid, secret, salt, method and ts.
    pub sign: Sign,
    /// Per-quest unique number.
    pub salt: i64,
    /// Unix time in seconds.
    pub ts: i64,
}

impl Auth {
    /// Signs `method` for project `pid` with `secret`.
    ///
    /// The secret is only hashed; it is neither stored nor logged.
    pub fn new(pid: u32, secret: &[u8], salt: i64, method: &str, ts: i64) -> Self {
        Self {
            pid,
            sign: sign(pid, secret, salt, method, ts),
            salt,
            ts,
        }
    }
}

/// Computes the quest signature.
pub fn sign(pid: u32, secret: &[u8], salt: i64, method: &str, ts: i64) -> Sign {
    let mut h = Md5::new();
    h.update(Decimal::u64(u64::from(pid)).as_bytes());
    h.update(b":");
    h.update(secret);
    h.update(b":");
    h.update(Decimal::i64(salt).as_bytes());
    h.update(b":");
    h.update(method.as_bytes());
    h.update(b":");
    h.update(Decimal::i64(ts).as_bytes());
    let digest = h.finalize();
    let mut out = [0u8; 32];
    for (pair, byte) in out.chunks_exact_mut(2).zip(digest.iter()) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_example_sign() {
        assert_eq!(
            &sign(1, b"s", 2, "setlisten", 3),
            b"A5D0D98322E3BCDCE4AC9F1D623C36A4"
        );
    }
}
