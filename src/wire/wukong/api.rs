//! The bodies of the WuKongIM HTTP API calls a monitor setup makes (`protocol/wukongim.md` §c):
//! JSON written into caller buffers, no allocation. The host (or
//! [`driver::wukong_api`](crate::driver) with feature `wukong-api`) sends them as
//! `POST <api>/<path>` with `Content-Type: application/json` (and a `token` header when the
//! server sets `managerToken`).
//!
//! - [`SUBSCRIBER_ADD`] / [`SUBSCRIBER_REMOVE`] with [`subscribers_body`]: make the monitor
//!   uid a subscriber of a group or room (its RECVs then come on the socket), or undo it;
//! - [`USER_TOKEN`] with [`user_token_body`]: register the monitor uid's login token;
//! - [`ROUTE`]: `GET` the addresses to connect to (`?intranet=1` for the cluster-internal ones).

/// `POST /channel/subscriber_add`.
pub const SUBSCRIBER_ADD: &str = "/channel/subscriber_add";
/// `POST /channel/subscriber_remove`.
pub const SUBSCRIBER_REMOVE: &str = "/channel/subscriber_remove";
/// `POST /user/token`.
pub const USER_TOKEN: &str = "/user/token";
/// `GET /route`.
pub const ROUTE: &str = "/route";

/// The buffer is too small; nothing useful was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BufferTooSmall;

impl core::fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("buffer too small for the request body")
    }
}

impl core::error::Error for BufferTooSmall {}

/// Writes JSON into a buffer.
struct Out<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Out<'_> {
    fn raw(&mut self, b: &[u8]) -> Result<(), BufferTooSmall> {
        let dst = self
            .buf
            .get_mut(self.len..self.len + b.len())
            .ok_or(BufferTooSmall)?;
        dst.copy_from_slice(b);
        self.len += b.len();
        Ok(())
    }

    /// A JSON string: quotes, backslashes and control bytes escaped (other bytes as given).
    fn string(&mut self, s: &[u8]) -> Result<(), BufferTooSmall> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.raw(b"\"")?;
        for &b in s {
            match b {
                b'"' => self.raw(b"\\\"")?,
                b'\\' => self.raw(b"\\\\")?,
                0..=0x1f => self.raw(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 15)],
                ])?,
                _ => self.raw(&[b])?,
            }
        }
        self.raw(b"\"")
    }

    fn number(&mut self, n: u64) -> Result<(), BufferTooSmall> {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut v = n;
        loop {
            at -= 1;
            digits[at] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.raw(&digits[at..])
    }
}

/// `{"channel_id":…,"channel_type":…,"subscribers":[…]}` for [`SUBSCRIBER_ADD`] and
/// [`SUBSCRIBER_REMOVE`]; returns its length.
pub fn subscribers_body<S: AsRef<[u8]>>(
    out: &mut [u8],
    channel_id: &[u8],
    channel_type: u8,
    subscribers: &[S],
) -> Result<usize, BufferTooSmall> {
    let mut o = Out { buf: out, len: 0 };
    o.raw(b"{\"channel_id\":")?;
    o.string(channel_id)?;
    o.raw(b",\"channel_type\":")?;
    o.number(u64::from(channel_type))?;
    o.raw(b",\"subscribers\":[")?;
    for (i, s) in subscribers.iter().enumerate() {
        if i > 0 {
            o.raw(b",")?;
        }
        o.string(s.as_ref())?;
    }
    o.raw(b"]}")?;
    Ok(o.len)
}

/// `{"uid":…,"token":…,"device_flag":…,"device_level":…}` for [`USER_TOKEN`] (device level 0
/// slave, 1 master: a master login kicks the uid's other device ids of the same flag);
/// returns its length.
pub fn user_token_body(
    out: &mut [u8],
    uid: &[u8],
    token: &[u8],
    device_flag: u8,
    device_level: u8,
) -> Result<usize, BufferTooSmall> {
    let mut o = Out { buf: out, len: 0 };
    o.raw(b"{\"uid\":")?;
    o.string(uid)?;
    o.raw(b",\"token\":")?;
    o.string(token)?;
    o.raw(b",\"device_flag\":")?;
    o.number(u64::from(device_flag))?;
    o.raw(b",\"device_level\":")?;
    o.number(u64::from(device_level))?;
    o.raw(b"}")?;
    Ok(o.len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        let mut b = [0u8; 128];
        let n = subscribers_body(&mut b, b"g\"1", 2, &["monitor"]).unwrap();
        assert_eq!(
            &b[..n],
            br#"{"channel_id":"g\"1","channel_type":2,"subscribers":["monitor"]}"#
        );
        let n = user_token_body(&mut b, b"monitor", b"t\n", 2, 0).unwrap();
        assert_eq!(
            &b[..n],
            br#"{"uid":"monitor","token":"t\u000a","device_flag":2,"device_level":0}"#
        );
        assert_eq!(
            subscribers_body(&mut [0u8; 20], b"g1", 2, &["m"]),
            Err(BufferTooSmall)
        );
    }
}
