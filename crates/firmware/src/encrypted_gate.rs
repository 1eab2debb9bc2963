//! The virtual gate's FPNN encryption (feature `encryption`; reference §4): the server's half
//! of the `*key` exchange and of the encrypted traffic after it, as the official FPNN server
//! does it. The gate has a fixed key pair; from the listener's plaintext `*key` quest it derives
//! the session keys, and from then on it encrypts everything it sends (its `*key` answer
//! included) and decrypts everything the listener sends, in package mode (a plaintext `u32` LE
//! length, then the frame encrypted with the cipher restarted from the IV) or stream mode (one
//! continuous cipher stream per direction).
//!
//! Built from the engine's own crypto building blocks, like `tests/encrypted_session.rs` does on
//! the host (where they are also checked against OpenSSL and the official FPNN server). On the
//! device, [`known_answers`] ties them to values computed with OpenSSL (Python `cryptography`):
//! the P-256 arithmetic here runs on 32-bit limbs, which the host tests do not exercise.
//!
//! Nothing here is part of the listener's budget: it is the test's side of the wire.

use heapless::Vec;
use rtm_listen::crypto::{AesCfb, Bits, Curve, EphemeralKey, ServerPublicKey};
use rtm_listen::session::EncryptionMode;
use rtm_listen::wire::frame::{Frame, Status, parse_frame};
use rtm_listen::wire::key_quest::{KEY_METHOD, PACKAGE_PREFIX_LEN};

use super::server::{self, unhex};

/// The one curve of this build (feature `encryption` = `rtm-listen/fpnn-ecdh-secp256r1`, the
/// smallest of the four in flash: BUDGETS.md).
pub const CURVE: Curve = Curve::Secp256r1;

/// The gate's private key: a **test key** (0x1111, the server key of the reference's example
/// 8, here on P-256). A real server's key is secret and the device only has its public half.
const SERVER_PRIVATE: [u8; 2] = [0x11, 0x11];

/// The gate's public key as the firmware is provisioned with it: raw `X || Y` (the form of
/// `eccKeyMaker`'s `*-public.key` files). Computed with OpenSSL from [`SERVER_PRIVATE`].
pub const SERVER_PUBLIC: [u8; 64] = unhex(
    "0dcc7648c78a3118f2612866fe83ef19f40304f623399e1211a10f2b3d1c05cf30e8027677bcb912943e99ff71140ea9bc24713be1b75c31ff4054724c4f9d00",
);

// Known answers, computed with OpenSSL (Python `cryptography` 48): client private key 0x2222
// against the gate's key, and the `*ping` frame (seq 2) of the reference's example 8 encrypted
// twice in a row with AES-128-CFB and AES-256-CFB from the IV.
const KAT_CLIENT_PRIVATE: [u8; 2] = [0x22, 0x22];
const KAT_CLIENT_PUBLIC: [u8; 64] = unhex(
    "a62f048f367359809c2d46c2049d7d7bf268c3c073c472753cb18a24a8ad20b1caccf8104b666795c7f35dac9dc444b3c2c61978198c49859955b99956da5edb",
);
const KAT_SECRET: [u8; 32] =
    unhex("19cfbcaa5b6f16b6d0d45634acd7aaa05b764a17e520771158a8db8688ba1f87");
const KAT_IV: [u8; 16] = unhex("1b0ae673d1bacef0810b00dfd768a572");
const KAT_PING: &[u8; 22] = b"FPNN\x01\x80\x01\x05\x01\0\0\0\x02\0\0\0*ping\x80";
const KAT_PING_TWICE_128: [u8; 44] = unhex(
    "a6fd5bb232dba5453e63b1662d9d25fa55f0b26fbc51a63ddfe281706ee8028922531af595501b1cec2250de",
);
const KAT_PING_TWICE_256: [u8; 44] = unhex(
    "6e377f06d5ca416aefd2c2f91d147cc560c2b139852713cbbb41f211cb9cf8cb788f6fce2b86f3260b65df8c",
);

/// Checks the device's P-256, key derivation and AES-CFB against the OpenSSL known answers
/// above: both public keys, the shared secret, the IV, and the ciphertext of two frames in one
/// stream (stream mode) and of the first after a reset (package mode), for both key sizes.
pub fn known_answers() -> Result<(), &'static str> {
    let server =
        EphemeralKey::from_private_bytes(CURVE, &SERVER_PRIVATE).map_err(|e| e.as_str())?;
    if server.public_key() != SERVER_PUBLIC {
        return Err("the gate's public key is not OpenSSL's");
    }
    let client =
        EphemeralKey::from_private_bytes(CURVE, &KAT_CLIENT_PRIVATE).map_err(|e| e.as_str())?;
    if client.public_key() != KAT_CLIENT_PUBLIC {
        return Err("the client's public key is not OpenSSL's");
    }
    let server_public = ServerPublicKey::from_raw(CURVE, &SERVER_PUBLIC).map_err(|e| e.as_str())?;
    let secret = client
        .diffie_hellman(&server_public)
        .map_err(|e| e.as_str())?;
    if secret.as_bytes() != KAT_SECRET {
        return Err("the shared secret is not OpenSSL's");
    }
    for (bits, want) in [
        (Bits::Aes128, &KAT_PING_TWICE_128),
        (Bits::Aes256, &KAT_PING_TWICE_256),
    ] {
        let keys = secret.derive(bits);
        if keys.iv() != &KAT_IV {
            return Err("the IV is not OpenSSL's");
        }
        let mut cipher = keys.cipher();
        let mut twice = [0u8; 44];
        twice[..22].copy_from_slice(KAT_PING);
        twice[22..].copy_from_slice(KAT_PING);
        cipher.encrypt(&mut twice);
        if &twice != want {
            return Err("AES-CFB (stream) is not OpenSSL's");
        }
        let mut once = *KAT_PING;
        cipher.reset();
        cipher.encrypt(&mut once);
        if once[..] != want[..22] {
            return Err("AES-CFB after a reset (package) is not OpenSSL's");
        }
    }
    Ok(())
}

/// The ciphers of one connection after its key exchange.
struct Link {
    mode: EncryptionMode,
    /// The gate's sending direction (the listener's receiving one).
    send: AesCfb,
    /// The gate's receiving direction.
    recv: AesCfb,
}

/// The server's side of encryption for the gate: its key pair and, after a key exchange, the
/// connection's ciphers.
pub struct Gate {
    key: EphemeralKey,
    link: Option<Link>,
    /// The listener's public key of the last exchange (each connection must make a new one).
    last_client_key: [u8; 64],
    /// Key exchanges accepted.
    pub exchanges: u32,
}

impl Gate {
    /// The gate with its fixed key pair (checked against [`SERVER_PUBLIC`]).
    pub fn new() -> Result<Self, &'static str> {
        let key =
            EphemeralKey::from_private_bytes(CURVE, &SERVER_PRIVATE).map_err(|e| e.as_str())?;
        if key.public_key() != SERVER_PUBLIC {
            return Err("the gate's public key does not match its private key");
        }
        Ok(Self {
            key,
            link: None,
            last_client_key: [0; 64],
            exchanges: 0,
        })
    }

    /// Whether a key exchange was accepted on this connection.
    pub fn is_encrypting(&self) -> bool {
        self.link.is_some()
    }

    /// The connection closed: the next one starts in plaintext with a new `*key`.
    pub fn closed(&mut self) {
        self.link = None;
    }

    /// Accepts the key exchange from what the listener sent first on a connection: exactly one
    /// frame, the plaintext twoway `*key` quest with a new 64-byte point on the curve,
    /// `streamMode` and `bits` as configured (`mode`, `bits`). Derives the connection's keys;
    /// returns the quest's seq (for the answer, which [`Gate::seal`] then encrypts).
    pub fn accept(
        &mut self,
        sent: &[u8],
        mode: EncryptionMode,
        bits: Bits,
    ) -> Result<u32, &'static str> {
        if self.link.is_some() {
            return Err("a second key exchange on one connection");
        }
        let frames = server::frames::<2>(sent)
            .ok_or("the listener's first bytes are not plaintext frames")?;
        let [
            Frame::Quest {
                seq: Some(seq),
                method,
                payload,
            },
        ] = frames.as_slice()
        else {
            return Err("expected exactly one twoway quest (`*key`) before its answer");
        };
        if *method != KEY_METHOD.as_bytes() {
            return Err("the first quest is not `*key`");
        }
        let public = server::get_bytes(payload, b"publicKey").ok_or("`*key` without publicKey")?;
        if public.len() != 2 * CURVE.coord_len() {
            return Err("`*key` publicKey is not X || Y of the curve");
        }
        if public == self.last_client_key {
            return Err("`*key` publicKey reused from the last connection");
        }
        if server::get_bool(payload, b"streamMode") != Some(mode == EncryptionMode::Stream) {
            return Err("`*key` streamMode is not the configured mode");
        }
        if server::get_i64(payload, b"bits") != Some(i64::from(bits.bits())) {
            return Err("`*key` bits is not the configured key size");
        }
        let client = ServerPublicKey::from_raw(CURVE, public).map_err(|e| e.as_str())?;
        let keys = self
            .key
            .diffie_hellman(&client)
            .map_err(|e| e.as_str())?
            .derive(bits);
        self.last_client_key.copy_from_slice(public);
        self.link = Some(Link {
            mode,
            send: keys.cipher(),
            recv: keys.cipher(),
        });
        self.exchanges += 1;
        Ok(*seq)
    }

    /// What the gate puts on the wire for the whole frames `plain`: a copy, encrypted after a
    /// key exchange (package mode: each frame behind its length).
    pub fn seal<const N: usize>(
        &mut self,
        plain: &[u8],
        out: &mut Vec<u8, N>,
    ) -> Result<(), &'static str> {
        out.clear();
        let Some(link) = &mut self.link else {
            return out
                .extend_from_slice(plain)
                .map_err(|_| "sealing: buffer full");
        };
        match link.mode {
            EncryptionMode::Stream => {
                out.extend_from_slice(plain)
                    .map_err(|_| "sealing: buffer full")?;
                link.send.encrypt(out);
            }
            EncryptionMode::Package => {
                let mut rest = plain;
                while !rest.is_empty() {
                    let Ok(Status::Complete(_, n)) = parse_frame(rest, usize::MAX) else {
                        return Err("sealing: not whole frames");
                    };
                    let (frame, tail) = rest.split_at(n);
                    let len = u32::try_from(n).map_err(|_| "sealing: frame too long")?;
                    out.extend_from_slice(&len.to_le_bytes())
                        .map_err(|_| "sealing: buffer full")?;
                    let start = out.len();
                    out.extend_from_slice(frame)
                        .map_err(|_| "sealing: buffer full")?;
                    link.send.reset();
                    link.send.encrypt(&mut out[start..]);
                    rest = tail;
                }
            }
        }
        Ok(())
    }

    /// Decrypts, in place, what the listener sent after `*key` (package mode: whole packages,
    /// their prefixes removed). Before a key exchange the bytes stay as they are.
    pub fn open<const N: usize>(&mut self, wire: &mut Vec<u8, N>) -> Result<(), &'static str> {
        let Some(link) = &mut self.link else {
            return Ok(());
        };
        match link.mode {
            EncryptionMode::Stream => link.recv.decrypt(wire),
            EncryptionMode::Package => {
                let (mut read, mut written) = (0, 0);
                while read < wire.len() {
                    let Some(prefix) = wire.get(read..read + PACKAGE_PREFIX_LEN) else {
                        return Err("opening: a cut package prefix");
                    };
                    let mut len = [0u8; PACKAGE_PREFIX_LEN];
                    len.copy_from_slice(prefix);
                    let n = u32::from_le_bytes(len) as usize;
                    read += PACKAGE_PREFIX_LEN;
                    if n == 0 || wire.len() - read < n {
                        return Err("opening: a package shorter than its prefix says");
                    }
                    wire.copy_within(read..read + n, written);
                    link.recv.reset();
                    link.recv.decrypt(&mut wire[written..written + n]);
                    if !matches!(parse_frame(&wire[written..written + n], usize::MAX), Ok(Status::Complete(_, m)) if m == n)
                    {
                        return Err("opening: a package that is not exactly one frame");
                    }
                    read += n;
                    written += n;
                }
                wire.truncate(written);
            }
        }
        Ok(())
    }
}
