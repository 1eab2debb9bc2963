//! WuKongIM's payload encryption (`protocol/wukongim.md` §b, "Encryption"), no allocation:
//!
//! 1. the client makes an X25519 key pair from host randomness and sends base64 of its public
//!    key in CONNECT ([`ClientKey`]);
//! 2. CONNACK brings base64 of the server's public key and a 16-character salt; the AES-128
//!    key is the first 16 characters of the lowercase hex MD5 of base64 of the shared secret,
//!    and the IV is the salt ([`ClientKey::derive`] gives [`PayloadKeys`]);
//! 3. a RECV's payload is base64 of AES-128-CBC with PKCS#7 padding: decoded and decrypted in
//!    place ([`PayloadKeys::decrypt_in_place`]);
//! 4. its `msg_key` is the lowercase hex MD5 of base64 of AES-128-CBC of the message's fields
//!    and its still-encrypted payload, checked as a stream ([`PayloadKeys::msg_key_matches`]).
//!
//! Secrets (the X25519 secret, the shared secret, the AES key) are zeroized on drop and never
//! shown by `Debug`.

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use base64ct::{Base64, Encoding};
use md5::{Digest, Md5};
use zeroize::{Zeroize, Zeroizing};

use crate::wire::wukong::packet::Recv;

/// The length of base64 of a 32-byte X25519 key (with its padding).
pub const KEY_B64_LEN: usize = 44;

/// Why keys could not be derived or a payload opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WkCryptoError {
    /// CONNACK's `server_key` is not base64 of 32 bytes.
    BadServerKey,
    /// CONNACK's `salt` is shorter than the 16 bytes of the IV.
    ShortSalt,
    /// The server's key gives an all-zero shared secret (a low-order point).
    NonContributory,
    /// The payload is not base64.
    BadBase64,
    /// The decoded payload is not a whole number of AES blocks.
    BadLength,
    /// The decrypted payload's PKCS#7 padding is wrong.
    BadPadding,
}

impl WkCryptoError {
    /// A short fixed description.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::BadServerKey => "WuKongIM server key is not base64 of 32 bytes",
            Self::ShortSalt => "WuKongIM salt shorter than 16 bytes",
            Self::NonContributory => "WuKongIM server key gives a zero shared secret",
            Self::BadBase64 => "WuKongIM payload is not base64",
            Self::BadLength => "WuKongIM payload is not whole AES blocks",
            Self::BadPadding => "WuKongIM payload has bad PKCS#7 padding",
        }
    }
}

impl core::fmt::Display for WkCryptoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for WkCryptoError {}

/// The client's X25519 key pair for one connection.
pub struct ClientKey {
    secret: x25519_dalek::StaticSecret,
    public: [u8; 32],
}

impl ClientKey {
    /// The key pair of the 32 random bytes `random` (from the host; wiped by the caller).
    pub fn from_random(random: [u8; 32]) -> Self {
        let secret = x25519_dalek::StaticSecret::from(random);
        let public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }

    /// The public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }

    /// base64 of the public key, CONNECT's `client_key`.
    pub fn public_key_b64(&self) -> [u8; KEY_B64_LEN] {
        let mut out = [0u8; KEY_B64_LEN];
        // 32 bytes always encode to 44 characters.
        let _ = Base64::encode(&self.public, &mut out);
        out
    }

    /// The payload keys from CONNACK's `server_key` (base64) and `salt`.
    pub fn derive(&self, server_key_b64: &[u8], salt: &[u8]) -> Result<PayloadKeys, WkCryptoError> {
        let mut server = [0u8; 32];
        match Base64::decode(server_key_b64, &mut server) {
            Ok(k) if k.len() == 32 => {}
            _ => return Err(WkCryptoError::BadServerKey),
        }
        let iv: [u8; 16] = salt
            .get(..16)
            .and_then(|s| s.try_into().ok())
            .ok_or(WkCryptoError::ShortSalt)?;
        let shared = self
            .secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(server));
        if !shared.was_contributory() {
            return Err(WkCryptoError::NonContributory);
        }
        Ok(PayloadKeys::from_shared(shared.as_bytes(), iv))
    }
}

impl core::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// The AES-128-CBC key and IV of a connection's payloads.
#[derive(Clone)]
pub struct PayloadKeys {
    key: [u8; 16],
    iv: [u8; 16],
}

/// Lowercase hex of `bytes` into `out` (twice as long).
fn hex_lower(bytes: &[u8], out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        if let [hi, lo] = pair {
            *hi = HEX[usize::from(b >> 4)];
            *lo = HEX[usize::from(b & 15)];
        }
    }
}

impl PayloadKeys {
    /// The keys of shared secret `shared` and IV `iv`: the AES key is the first 16 characters
    /// of the lowercase hex MD5 of base64 of `shared`.
    pub fn from_shared(shared: &[u8; 32], iv: [u8; 16]) -> Self {
        let mut b64 = Zeroizing::new([0u8; KEY_B64_LEN]);
        let _ = Base64::encode(shared, &mut b64[..]);
        let mut digest = Zeroizing::new([0u8; 16]);
        digest.copy_from_slice(&Md5::digest(&b64[..]));
        let mut hex = Zeroizing::new([0u8; 32]);
        hex_lower(&digest[..], &mut hex[..]);
        let mut key = [0u8; 16];
        key.copy_from_slice(&hex[..16]);
        Self { key, iv }
    }

    /// The AES key (16 ASCII hex characters), for tests against other implementations.
    pub fn aes_key(&self) -> &[u8; 16] {
        &self.key
    }

    /// Decodes and decrypts a RECV payload in `buf` (base64 of AES-128-CBC ciphertext) where it
    /// lies; returns the plaintext, a prefix of `buf`.
    pub fn decrypt_in_place<'a>(&self, buf: &'a mut [u8]) -> Result<&'a [u8], WkCryptoError> {
        let n = Base64::decode_in_place(buf)
            .map_err(|_| WkCryptoError::BadBase64)?
            .len();
        let ct = buf.get_mut(..n).unwrap_or_default();
        if n == 0 || n % 16 != 0 {
            return Err(WkCryptoError::BadLength);
        }
        cbc::Decryptor::<Aes128>::new(&self.key.into(), &self.iv.into())
            .decrypt_padded::<Pkcs7>(ct)
            .map_err(|_| WkCryptoError::BadPadding)
    }

    /// Encrypts `plain` as a server does a RECV payload: AES-128-CBC with PKCS#7, then base64,
    /// into `out`; returns the length written, or `None` when `out` is too short (it needs
    /// [`encrypted_len`]).
    pub fn encrypt_payload(&self, plain: &[u8], out: &mut [u8]) -> Option<usize> {
        let padded = (plain.len() / 16 + 1) * 16;
        let b64_len = encrypted_len(plain.len());
        if out.len() < b64_len {
            return None;
        }
        // The ciphertext is made at the end of `out`, then encoded to its front (base64 never
        // overtakes: each 3 bytes read give 4 written, from an offset at least as far ahead).
        let tail = out.get_mut(b64_len - padded..)?;
        tail.get_mut(..plain.len())?.copy_from_slice(plain);
        let ct_len = cbc::Encryptor::<Aes128>::new(&self.key.into(), &self.iv.into())
            .encrypt_padded::<Pkcs7>(tail, plain.len())
            .ok()?
            .len();
        let mut ct = [0u8; 48];
        let mut written = 0;
        let mut read = b64_len - padded;
        // Encoded 48 bytes at a time through a stack copy (the source lies in `out`).
        while read < b64_len - padded + ct_len {
            let n = (b64_len - padded + ct_len - read).min(48);
            ct[..n].copy_from_slice(out.get(read..read + n)?);
            let enc = Base64::encode(&ct[..n], out.get_mut(written..)?)
                .ok()?
                .len();
            written += enc;
            read += n;
        }
        Some(written)
    }

    /// The `msg_key` a server gives `recv` (its fields and still-encrypted payload): the
    /// lowercase hex MD5 of base64 of AES-128-CBC (PKCS#7) of the decimal `message_id`, decimal
    /// `message_seq`, `client_msg_no`, decimal `timestamp`, `from_uid`, `channel_id`, decimal
    /// `channel_type` and the payload; `recv.msg_key` is not read.
    pub fn msg_key(&self, recv: &Recv<'_>) -> [u8; 32] {
        let mut m = MsgKey::new(self);
        let mut num = [0u8; 20];
        m.feed(decimal_i64(recv.message_id, &mut num));
        m.feed(decimal_u64(recv.message_seq, &mut num));
        m.feed(recv.client_msg_no);
        m.feed(decimal_i64(i64::from(recv.timestamp), &mut num));
        m.feed(recv.from_uid);
        m.feed(recv.channel_id);
        m.feed(decimal_u64(u64::from(recv.channel_type), &mut num));
        m.feed(recv.payload);
        let mut hex = [0u8; 32];
        hex_lower(&m.finish(), &mut hex);
        hex
    }

    /// Whether `recv`'s `msg_key` is the one its fields and payload give: the lowercase hex MD5
    /// of base64 of AES-128-CBC (PKCS#7) of the decimal `message_id`, decimal `message_seq`,
    /// `client_msg_no`, decimal `timestamp`, `from_uid`, `channel_id`, decimal
    /// `channel_type` and the still-encrypted payload, computed as a stream.
    pub fn msg_key_matches(&self, recv: &Recv<'_>) -> bool {
        self.msg_key(recv)[..] == *recv.msg_key
    }
}

impl Drop for PayloadKeys {
    fn drop(&mut self) {
        self.key.zeroize();
        self.iv.zeroize();
    }
}

impl core::fmt::Debug for PayloadKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PayloadKeys").finish_non_exhaustive()
    }
}

/// The length of an encrypted payload of `plain_len` bytes: base64 of the PKCS#7-padded
/// ciphertext.
pub fn encrypted_len(plain_len: usize) -> usize {
    let padded = (plain_len / 16 + 1) * 16;
    padded.div_ceil(3) * 4
}

/// `v` in decimal, written at the end of `buf`.
fn decimal_u64(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[at..];
        }
    }
}

/// `v` in decimal with its sign, written at the end of `buf`.
fn decimal_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let digits = decimal_u64(v.unsigned_abs(), buf).len();
    let at = buf.len() - digits;
    if v < 0 && at > 0 {
        buf[at - 1] = b'-';
        return &buf[at - 1..];
    }
    &buf[at..]
}

/// The msgKey as a stream: bytes into AES-128-CBC blocks, ciphertext into base64, base64 into
/// MD5.
struct MsgKey {
    cbc: cbc::Encryptor<Aes128>,
    block: [u8; 16],
    have: usize,
    /// Ciphertext waiting to be base64-encoded (three blocks encode without padding).
    pending: [u8; 48],
    pending_len: usize,
    md5: Md5,
}

impl MsgKey {
    fn new(keys: &PayloadKeys) -> Self {
        Self {
            cbc: cbc::Encryptor::<Aes128>::new(&keys.key.into(), &keys.iv.into()),
            block: [0; 16],
            have: 0,
            pending: [0; 48],
            pending_len: 0,
            md5: Md5::new(),
        }
    }

    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let take = (16 - self.have).min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(dst) = self.block.get_mut(self.have..self.have + take) {
                dst.copy_from_slice(head);
            }
            self.have += take;
            data = rest;
            if self.have == 16 {
                self.encrypt_block();
            }
        }
    }

    fn encrypt_block(&mut self) {
        self.cbc.encrypt_block((&mut self.block).into());
        self.have = 0;
        if let Some(dst) = self
            .pending
            .get_mut(self.pending_len..self.pending_len + 16)
        {
            dst.copy_from_slice(&self.block);
            self.pending_len += 16;
        }
        if self.pending_len == self.pending.len() {
            self.flush();
        }
    }

    /// Encodes the pending ciphertext (a multiple of three bytes, except at the end) into MD5.
    fn flush(&mut self) {
        let mut b64 = [0u8; 64];
        if let Ok(s) = Base64::encode(&self.pending[..self.pending_len], &mut b64) {
            self.md5.update(s.as_bytes());
        }
        self.pending_len = 0;
    }

    fn finish(mut self) -> [u8; 16] {
        // PKCS#7: 1 to 16 bytes of the pad length.
        let pad = (16 - self.have) as u8;
        self.block[self.have..].fill(pad);
        self.have = 16;
        self.encrypt_block();
        self.flush();
        self.md5.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_and_hex() {
        let mut b = [0u8; 20];
        assert_eq!(decimal_u64(0, &mut b), b"0");
        assert_eq!(decimal_u64(u64::MAX, &mut b), b"18446744073709551615");
        assert_eq!(decimal_i64(-15, &mut b), b"-15");
        assert_eq!(decimal_i64(i64::MIN, &mut b), b"-9223372036854775808");
        let mut h = [0u8; 4];
        hex_lower(&[0xab, 0x01], &mut h);
        assert_eq!(&h, b"ab01");
    }

    #[test]
    fn debug_shows_no_secret() {
        let k = ClientKey::from_random([7; 32]);
        let keys = PayloadKeys::from_shared(&[1; 32], [2; 16]);
        assert!(!format!("{k:?}").contains("secret"));
        assert_eq!(format!("{keys:?}"), "PayloadKeys { .. }");
    }
}
