//! FPNN encryption (reference §4) on the gate's side: the server's ECC key, the `*key` exchange
//! and AES-CFB-128 in stream and package mode.
//!
//! Built on RustCrypto crates used directly (`elliptic-curve` ECDH, `cfb-mode` over `aes`,
//! `sha2`, `md-5`), not on the engine's `crypto` module, so the simulator checks the engine's
//! implementation rather than agreeing with it.

use std::fmt;
use std::io;
use std::path::Path;
use std::str::FromStr;

use aes::{Aes128, Aes256};
use cfb_mode::cipher::KeyIvInit;
use cfb_mode::{BufDecryptor, BufEncryptor};
use elliptic_curve::pkcs8::{AssociatedOid, EncodePublicKey, LineEnding};
use elliptic_curve::sec1::{FromSec1Point, ModulusSize, ToSec1Point};
use elliptic_curve::{AffinePoint, CurveArithmetic, FieldBytesSize, PublicKey, SecretKey};
use md5::{Digest, Md5};
use rmpv::Value;
use rtm_listen::wire::frame::{Status, parse_frame};
use sha2::Sha256;

/// An elliptic curve the FPNN server can be configured with (`FPNN.server.security.ecdh.curve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// secp256k1 (32-byte coordinates).
    Secp256k1,
    /// secp256r1 = NIST P-256 = prime256v1 (32-byte coordinates).
    Secp256r1,
    /// secp224r1 = NIST P-224 (28-byte coordinates).
    Secp224r1,
    /// secp192r1 = NIST P-192 = prime192v1 (24-byte coordinates).
    Secp192r1,
}

impl Curve {
    /// Every curve, in the order of the reference.
    pub const ALL: [Curve; 4] = [
        Curve::Secp256k1,
        Curve::Secp256r1,
        Curve::Secp224r1,
        Curve::Secp192r1,
    ];

    /// The FPNN configuration name (`secp256k1`, …).
    pub fn name(self) -> &'static str {
        match self {
            Curve::Secp256k1 => "secp256k1",
            Curve::Secp256r1 => "secp256r1",
            Curve::Secp224r1 => "secp224r1",
            Curve::Secp192r1 => "secp192r1",
        }
    }

    /// The curve named `name`: the FPNN names, also OpenSSL's `prime256v1` / `prime192v1` and
    /// NIST's `P-256` / `P-224` / `P-192` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Curve> {
        match name.to_ascii_lowercase().as_str() {
            "secp256k1" => Some(Curve::Secp256k1),
            "secp256r1" | "prime256v1" | "p-256" | "p256" => Some(Curve::Secp256r1),
            "secp224r1" | "p-224" | "p224" => Some(Curve::Secp224r1),
            "secp192r1" | "prime192v1" | "p-192" | "p192" => Some(Curve::Secp192r1),
            _ => None,
        }
    }

    /// Bytes of a coordinate, of a private key and of the shared secret: 32, 28 or 24.
    pub fn secret_len(self) -> usize {
        match self {
            Curve::Secp256k1 | Curve::Secp256r1 => 32,
            Curve::Secp224r1 => 28,
            Curve::Secp192r1 => 24,
        }
    }

    /// Bytes of a public key on the wire (`X || Y`, no `0x04` prefix): twice
    /// [`Curve::secret_len`].
    pub fn public_key_len(self) -> usize {
        2 * self.secret_len()
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Curve {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Curve, KeyError> {
        Curve::from_name(s).ok_or_else(|| {
            KeyError(format!(
                "unknown curve {s:?} (secp256k1, secp256r1, secp224r1 or secp192r1)"
            ))
        })
    }
}

/// The two FPNN encryption modes (`streamMode` of the `*key` quest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncryptionMode {
    /// `streamMode: true`: ordinary frames, every byte encrypted by one continuous CFB stream
    /// per direction.
    Stream,
    /// `streamMode: false` (the default): each frame is sent as a plaintext u32 LE length
    /// followed by the frame encrypted with CFB restarted from the IV.
    Package,
}

/// A key that cannot be used: bad hex, wrong length, not a valid scalar or point, an
/// unreadable or unrecognised key file, a curve mismatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

fn err<T>(msg: impl Into<String>) -> Result<T, KeyError> {
    Err(KeyError(msg.into()))
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of a hex string (an optional `0x`, whitespace ignored, an odd digit count padded with a
/// leading 0).
pub fn from_hex(hex: &str) -> Result<Vec<u8>, KeyError> {
    let t = hex.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let mut digits: Vec<u8> = Vec::with_capacity(t.len() + 1);
    for c in t.chars().filter(|c| !c.is_whitespace()) {
        match c.to_digit(16) {
            Some(d) => digits.push(d as u8), // a hex digit is < 16
            None => return err(format!("not a hex string: {hex:?}")),
        }
    }
    if digits.is_empty() {
        return err("empty hex string");
    }
    if digits.len() % 2 == 1 {
        digits.insert(0, 0);
    }
    Ok(digits.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect())
}

/// The per-curve operations, generic over the RustCrypto curve type.
trait CurveOps {
    fn check_scalar(&self, be: &[u8]) -> Result<(), KeyError>;
    fn public_sec1(&self, be: &[u8]) -> Result<Vec<u8>, KeyError>;
    fn public_der(&self, be: &[u8]) -> Result<Vec<u8>, KeyError>;
    fn public_pem(&self, be: &[u8]) -> Result<String, KeyError>;
    fn secret_from_der(&self, der: &[u8]) -> Option<Vec<u8>>;
    fn diffie_hellman(&self, be: &[u8], peer_xy: &[u8]) -> Result<Vec<u8>, KeyError>;
}

struct Ops<C>(std::marker::PhantomData<C>);

impl<C> Ops<C>
where
    C: CurveArithmetic + AssociatedOid,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    fn secret(be: &[u8]) -> Result<SecretKey<C>, KeyError> {
        SecretKey::<C>::from_slice(be).map_err(|_| {
            KeyError("the private key is not a valid scalar (0 or ≥ the order)".into())
        })
    }
    fn public(be: &[u8]) -> Result<PublicKey<C>, KeyError> {
        Ok(Self::secret(be)?.public_key())
    }
}

impl<C> CurveOps for Ops<C>
where
    C: CurveArithmetic + AssociatedOid,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    fn check_scalar(&self, be: &[u8]) -> Result<(), KeyError> {
        Self::secret(be).map(|_| ())
    }
    fn public_sec1(&self, be: &[u8]) -> Result<Vec<u8>, KeyError> {
        Ok(Self::public(be)?.to_sec1_point(false).as_bytes().to_vec())
    }
    fn public_der(&self, be: &[u8]) -> Result<Vec<u8>, KeyError> {
        let doc = Self::public(be)?
            .to_public_key_der()
            .map_err(|e| KeyError(format!("cannot encode the public key: {e}")))?;
        Ok(doc.as_bytes().to_vec())
    }
    fn public_pem(&self, be: &[u8]) -> Result<String, KeyError> {
        Self::public(be)?
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError(format!("cannot encode the public key: {e}")))
    }
    fn secret_from_der(&self, der: &[u8]) -> Option<Vec<u8>> {
        SecretKey::<C>::from_der(der)
            .ok()
            .map(|k| k.to_bytes().to_vec())
    }
    fn diffie_hellman(&self, be: &[u8], peer_xy: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut sec1 = Vec::with_capacity(1 + peer_xy.len());
        sec1.push(0x04);
        sec1.extend_from_slice(peer_xy);
        let peer = PublicKey::<C>::from_sec1_bytes(&sec1)
            .map_err(|_| KeyError("the peer's public key is not a point on the curve".into()))?;
        let shared = Self::secret(be)?.diffie_hellman(&peer);
        Ok(shared.raw_secret_bytes().to_vec())
    }
}

fn ops(curve: Curve) -> &'static dyn CurveOps {
    use std::marker::PhantomData as P;
    match curve {
        Curve::Secp256k1 => &Ops::<k256::Secp256k1>(P),
        Curve::Secp256r1 => &Ops::<p256::NistP256>(P),
        Curve::Secp224r1 => &Ops::<p224::NistP224>(P),
        Curve::Secp192r1 => &Ops::<p192::NistP192>(P),
    }
}

/// The gate's ECC private key and its curve (the FPNN server's `ecdh.curve` and
/// `ecdh.privateKey`). Clients need the matching public key: [`ServerKey::public_key_raw`]
/// (`X || Y`, what eccKeyMaker writes as `NAME-public.key`), [`ServerKey::public_key_der`] /
/// [`ServerKey::public_key_pem`] (SubjectPublicKeyInfo, like OpenSSL's `ec -pubout`).
#[derive(Clone, PartialEq, Eq)]
pub struct ServerKey {
    curve: Curve,
    /// The scalar, big-endian, exactly `curve.secret_len()` bytes, valid on the curve.
    private: Vec<u8>,
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The private key stays out of logs.
        f.debug_struct("ServerKey")
            .field("curve", &self.curve)
            .field("public_key", &to_hex(&self.public_key_raw()))
            .finish_non_exhaustive()
    }
}

impl ServerKey {
    /// The key with scalar `bytes` (big-endian; shorter than the curve's size is left-padded
    /// with zeros, longer only with leading zeros; eccKeyMaker's `NAME-private.key` is this).
    pub fn from_private_bytes(curve: Curve, bytes: &[u8]) -> Result<ServerKey, KeyError> {
        let n = curve.secret_len();
        let significant = &bytes[bytes.iter().take_while(|b| **b == 0).count()..];
        if significant.len() > n {
            return err(format!(
                "a {curve} private key has at most {n} bytes, got {}",
                bytes.len()
            ));
        }
        let mut private = vec![0u8; n - significant.len()];
        private.extend_from_slice(significant);
        ops(curve).check_scalar(&private)?;
        Ok(ServerKey { curve, private })
    }

    /// The key with the hex scalar `hex` (e.g. `1111` or `0x1111`, left-padded).
    pub fn from_hex(curve: Curve, hex: &str) -> Result<ServerKey, KeyError> {
        ServerKey::from_private_bytes(curve, &from_hex(hex)?)
    }

    /// A DER private key: SEC1 `ECPrivateKey` (OpenSSL `ecparam -genkey -outform der`) or
    /// PKCS#8. The curve comes from the key; `curve`, when given, must agree.
    pub fn from_der(curve: Option<Curve>, der: &[u8]) -> Result<ServerKey, KeyError> {
        let candidates: Vec<Curve> = match curve {
            Some(c) => vec![c],
            None => Curve::ALL.to_vec(),
        };
        for c in candidates {
            if let Some(private) = ops(c).secret_from_der(der) {
                return ServerKey::from_private_bytes(c, &private);
            }
        }
        match curve {
            Some(c) => err(format!(
                "not a DER (SEC1 or PKCS#8) private key on {c}, or on another curve"
            )),
            None => err("not a DER (SEC1 or PKCS#8) private key on a supported curve"),
        }
    }

    /// A PEM private key: the first `EC PRIVATE KEY` (SEC1) or `PRIVATE KEY` (PKCS#8) block
    /// of `pem` (other blocks, e.g. OpenSSL's `EC PARAMETERS`, are skipped). The curve comes
    /// from the key; `curve`, when given, must agree.
    pub fn from_pem(curve: Option<Curve>, pem: &str) -> Result<ServerKey, KeyError> {
        for label in ["EC PRIVATE KEY", "PRIVATE KEY"] {
            let begin = format!("-----BEGIN {label}-----");
            let end = format!("-----END {label}-----");
            let Some(start) = pem.find(&begin) else {
                continue;
            };
            let body_start = start + begin.len();
            let Some(body_len) = pem[body_start..].find(&end) else {
                return err(format!("no {end} line"));
            };
            let der = base64_decode(&pem[body_start..body_start + body_len])?;
            return ServerKey::from_der(curve, &der);
        }
        err("no EC PRIVATE KEY or PRIVATE KEY block in the PEM text")
    }

    /// The key in a file's contents, recognised by shape: PEM text, else `curve.secret_len()`
    /// raw bytes when `curve` is given (eccKeyMaker's `NAME-private.key`), else DER.
    pub fn from_file_contents(curve: Option<Curve>, bytes: &[u8]) -> Result<ServerKey, KeyError> {
        if let Ok(text) = std::str::from_utf8(bytes)
            && text.contains("-----BEGIN")
        {
            return ServerKey::from_pem(curve, text);
        }
        if let Some(c) = curve
            && bytes.len() == c.secret_len()
        {
            return ServerKey::from_private_bytes(c, bytes);
        }
        ServerKey::from_der(curve, bytes)
    }

    /// The key in file `path` (see [`ServerKey::from_file_contents`]).
    pub fn load(curve: Option<Curve>, path: &Path) -> Result<ServerKey, KeyError> {
        let bytes = std::fs::read(path)
            .map_err(|e| KeyError(format!("cannot read {}: {e}", path.display())))?;
        ServerKey::from_file_contents(curve, &bytes)
            .map_err(|e| KeyError(format!("{}: {e}", path.display())))
    }

    /// `spec` as the command line takes it: the path of an existing key file
    /// ([`ServerKey::load`]), otherwise a hex scalar ([`ServerKey::from_hex`], which needs
    /// `curve`).
    pub fn parse(curve: Option<Curve>, spec: &str) -> Result<ServerKey, KeyError> {
        let path = Path::new(spec);
        if path.is_file() {
            return ServerKey::load(curve, path);
        }
        match curve {
            Some(c) => ServerKey::from_hex(c, spec),
            None => err(format!(
                "{spec:?} is not a key file, and a hex private key needs a curve"
            )),
        }
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The private scalar, big-endian, [`Curve::secret_len`] bytes.
    pub fn private_key_bytes(&self) -> &[u8] {
        &self.private
    }

    /// The public key as clients are configured with it and as it goes on the wire: `X || Y`,
    /// big-endian, [`Curve::public_key_len`] bytes, no `0x04` prefix.
    pub fn public_key_raw(&self) -> Vec<u8> {
        // The scalar was validated at construction.
        let sec1 = ops(self.curve)
            .public_sec1(&self.private)
            .unwrap_or_default();
        sec1.get(1..).unwrap_or_default().to_vec()
    }

    /// The public key as a DER SubjectPublicKeyInfo (uncompressed point).
    pub fn public_key_der(&self) -> Vec<u8> {
        ops(self.curve)
            .public_der(&self.private)
            .unwrap_or_default()
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo, uncompressed point).
    pub fn public_key_pem(&self) -> String {
        ops(self.curve)
            .public_pem(&self.private)
            .unwrap_or_default()
    }

    /// Writes the public key to `path`: PEM for a name ending in `.pem`, DER for `.der`,
    /// otherwise raw `X || Y` (like eccKeyMaker's `NAME-public.key`).
    pub fn write_public_key(&self, path: &Path) -> io::Result<()> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let bytes = match ext.as_deref() {
            Some("pem") => self.public_key_pem().into_bytes(),
            Some("der") => self.public_key_der(),
            _ => self.public_key_raw(),
        };
        std::fs::write(path, bytes)
    }

    /// The ECDH shared secret with a client's public key `X || Y` (exactly
    /// [`Curve::public_key_len`] bytes): the X coordinate of `private · peer`.
    ///
    /// Unlike the official server (micro-ecc does not check the point), a point not on the
    /// curve is an error.
    pub fn shared_secret(&self, peer_xy: &[u8]) -> Result<Vec<u8>, KeyError> {
        if peer_xy.len() != self.curve.public_key_len() {
            return err(format!(
                "a {} public key has {} bytes, got {}",
                self.curve,
                self.curve.public_key_len(),
                peer_xy.len()
            ));
        }
        ops(self.curve).diffie_hellman(&self.private, peer_xy)
    }
}

/// Standard base64 (RFC 4648, padding optional, whitespace ignored), for PEM bodies.
fn base64_decode(text: &str) -> Result<Vec<u8>, KeyError> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return err("bad base64 in the PEM body"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8); // the low 8 bits
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// The AES key and IV of a session (reference §4.1).
#[derive(Clone)]
pub(crate) struct SessionKeys {
    key: Vec<u8>,
    iv: [u8; 16],
    mode: EncryptionMode,
}

impl SessionKeys {
    /// 128 bits: the secret's first 16 bytes; 256: the secret if 32 bytes, else its SHA-256.
    /// IV = MD5(secret). `None` for bits other than 128 and 256.
    pub(crate) fn derive(secret: &[u8], bits: i64, mode: EncryptionMode) -> Option<SessionKeys> {
        let key = match bits {
            128 => secret.get(..16)?.to_vec(),
            256 if secret.len() == 32 => secret.to_vec(),
            256 => Sha256::digest(secret).to_vec(),
            _ => return None,
        };
        let iv: [u8; 16] = Md5::digest(secret).into();
        Some(SessionKeys { key, iv, mode })
    }

    fn encryptor(&self) -> Enc {
        match self.key.len() {
            16 => Enc::A128(
                BufEncryptor::new_from_slices(&self.key, &self.iv)
                    .ok()
                    .map(Box::new),
            ),
            _ => Enc::A256(
                BufEncryptor::new_from_slices(&self.key, &self.iv)
                    .ok()
                    .map(Box::new),
            ),
        }
    }

    fn decryptor(&self) -> Dec {
        match self.key.len() {
            16 => Dec::A128(
                BufDecryptor::new_from_slices(&self.key, &self.iv)
                    .ok()
                    .map(Box::new),
            ),
            _ => Dec::A256(
                BufDecryptor::new_from_slices(&self.key, &self.iv)
                    .ok()
                    .map(Box::new),
            ),
        }
    }
}

/// A CFB encryption stream (`None` only if the key had a wrong length, which `derive` rules out).
enum Enc {
    A128(Option<Box<BufEncryptor<Aes128>>>),
    A256(Option<Box<BufEncryptor<Aes256>>>),
}

impl Enc {
    fn apply(&mut self, data: &mut [u8]) {
        match self {
            Enc::A128(Some(e)) => e.encrypt(data),
            Enc::A256(Some(e)) => e.encrypt(data),
            _ => {}
        }
    }
}

/// A CFB decryption stream.
enum Dec {
    A128(Option<Box<BufDecryptor<Aes128>>>),
    A256(Option<Box<BufDecryptor<Aes256>>>),
}

impl Dec {
    fn apply(&mut self, data: &mut [u8]) {
        match self {
            Dec::A128(Some(d)) => d.decrypt(data),
            Dec::A256(Some(d)) => d.decrypt(data),
            _ => {}
        }
    }
}

/// The sending side of an encrypted connection.
pub(crate) struct Sealer {
    keys: SessionKeys,
    /// The continuous stream (stream mode).
    stream: Option<Enc>,
}

impl Sealer {
    pub(crate) fn new(keys: SessionKeys) -> Sealer {
        let stream = (keys.mode == EncryptionMode::Stream).then(|| keys.encryptor());
        Sealer { keys, stream }
    }

    /// The wire bytes of one whole frame.
    pub(crate) fn seal(&mut self, frame: &[u8]) -> Vec<u8> {
        match &mut self.stream {
            Some(enc) => {
                let mut out = frame.to_vec();
                enc.apply(&mut out);
                out
            }
            None => {
                let mut out = Vec::with_capacity(4 + frame.len());
                // Frames the gate writes stay far below 4 GiB.
                out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
                out.extend_from_slice(frame);
                self.keys.encryptor().apply(&mut out[4..]);
                out
            }
        }
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("mode", &self.keys.mode)
            .finish_non_exhaustive()
    }
}

/// The receiving side of an encrypted connection.
pub(crate) struct Opener {
    keys: SessionKeys,
    /// The continuous stream (stream mode).
    stream: Option<Dec>,
    /// Package mode: bytes of an incomplete package (length prefix included).
    raw: Vec<u8>,
}

impl Opener {
    pub(crate) fn new(keys: SessionKeys) -> Opener {
        let stream = (keys.mode == EncryptionMode::Stream).then(|| keys.decryptor());
        Opener {
            keys,
            stream,
            raw: Vec::new(),
        }
    }

    /// Decrypts `bytes` received from the wire and appends the plaintext to `out`. Package
    /// mode appends whole packages only, each of which must hold exactly one FPNN frame of at
    /// most `max` bytes (as the C++ server decodes one package as one frame); otherwise `Err`
    /// with the reason (the connection must be closed).
    pub(crate) fn open(
        &mut self,
        bytes: &[u8],
        out: &mut Vec<u8>,
        max: usize,
    ) -> Result<(), String> {
        if let Some(dec) = &mut self.stream {
            let start = out.len();
            out.extend_from_slice(bytes);
            dec.apply(&mut out[start..]);
            return Ok(());
        }
        self.raw.extend_from_slice(bytes);
        let mut at = 0;
        let result = loop {
            let Some(prefix) = self.raw.get(at..at + 4) else {
                break Ok(());
            };
            let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
            if len > max {
                break Err(format!("encrypted package of {len} bytes (limit {max})"));
            }
            let Some(body) = self.raw.get(at + 4..at + 4 + len) else {
                break Ok(());
            };
            let mut plain = body.to_vec();
            self.keys.decryptor().apply(&mut plain);
            match parse_frame(&plain, max) {
                Ok(Status::Complete(_, n)) if n == len => {}
                Ok(Status::Complete(_, n)) => {
                    break Err(format!(
                        "encrypted package of {len} bytes holds a frame of {n} bytes and more"
                    ));
                }
                Ok(Status::Partial(_)) => {
                    break Err(format!(
                        "encrypted package of {len} bytes holds a partial frame"
                    ));
                }
                Err(e) => break Err(format!("encrypted package of {len} bytes: bad frame: {e}")),
            }
            out.extend_from_slice(&plain);
            at += 4 + len;
        };
        self.raw.drain(..at);
        result
    }
}

/// The parameters of a `*key` quest (reference §4.2).
pub(crate) struct KeyQuest {
    pub(crate) public_key: Vec<u8>,
    pub(crate) mode: EncryptionMode,
    pub(crate) bits: i64,
}

impl KeyQuest {
    /// Reads `{publicKey: str|bin, streamMode: bool = false, bits: int = 128}` as the C++
    /// server's `FPQReader` does (`wantString`, `getBool`, `getInt`).
    pub(crate) fn parse(map: &[(Value, Value)]) -> Result<KeyQuest, String> {
        let get = |key: &str| {
            map.iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v)
        };
        let public_key = match get("publicKey") {
            Some(Value::String(s)) => s.as_bytes().to_vec(),
            Some(Value::Binary(b)) => b.clone(),
            Some(_) => return Err("publicKey is not a string".into()),
            None => return Err("no publicKey".into()),
        };
        let stream = match get("streamMode") {
            None | Some(Value::Nil) => false,
            Some(Value::Boolean(b)) => *b,
            Some(v) => match v.as_i64() {
                Some(i) => i != 0,
                None => return Err("streamMode is not a bool".into()),
            },
        };
        let bits = match get("bits") {
            None | Some(Value::Nil) => 128,
            Some(v) => v.as_i64().ok_or("bits is not an integer")?,
        };
        Ok(KeyQuest {
            public_key,
            mode: if stream {
                EncryptionMode::Stream
            } else {
                EncryptionMode::Package
            },
            bits,
        })
    }
}
