//! FPNN encryption through the C ABI: `rtm_encryption` read into the engine's setting (every
//! form and every refusal with its own code), a refused setting leaving the listener as it was,
//! the `*key` quest first on a connection, the key exchange's close reason, and sessions
//! against the gate simulator (in-process, over loopback TCP) in both modes and key sizes.

use core::ffi::{CStr, c_char};
use core::ptr::{null, null_mut};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use engine::crypto::{Bits, Curve};
use engine::session::{CloseReason, EncryptionMode};
use rtm_gate_sim::{Curve as SimCurve, Gate, GateConfig, Push, ServerKey, Target};

use super::{boxed, config, no_monitor, plaintext};
use crate::encryption::check;
use crate::*;

const ENTROPY: [u8; 32] = [0x5a; 32];

/// The simulator's key on `curve` (a fixed private scalar).
fn server_key(curve: SimCurve) -> ServerKey {
    ServerKey::from_hex(curve, "1f2e3d4c5b6a79880123456789abcdef").unwrap()
}

fn sim_curve(c: Curve) -> SimCurve {
    match c {
        Curve::Secp256k1 => SimCurve::Secp256k1,
        Curve::Secp256r1 => SimCurve::Secp256r1,
        Curve::Secp224r1 => SimCurve::Secp224r1,
        Curve::Secp192r1 => SimCurve::Secp192r1,
    }
}

/// An `rtm_encryption` over `key` (the caller keeps `key`, `curve` and the entropy alive).
fn setting(key: &[u8], format: rtm_key_format, curve: Option<&CStr>) -> rtm_encryption {
    rtm_encryption {
        server_key: key.as_ptr(),
        server_key_len: key.len(),
        format,
        curve: curve.map_or(null(), CStr::as_ptr),
        entropy: ENTROPY.as_ptr(),
        entropy_len: ENTROPY.len(),
        ..plaintext()
    }
}

fn checked(enc: &rtm_encryption) -> Result<(Curve, EncryptionMode, Bits), rtm_status> {
    // SAFETY: every pointer in `enc` is to live test memory.
    let c = unsafe { check(enc) }?;
    let e = c.setting.expect("a key gives a setting");
    Ok((e.server_key.curve(), e.mode, e.bits))
}

fn status(enc: &rtm_encryption) -> rtm_status {
    // SAFETY: every pointer in `enc` is to live test memory.
    unsafe { rtm_encryption_check(enc) }
}

/// A DER SubjectPublicKeyInfo with `algorithm` (the OID's content bytes), `params` (the curve
/// OID's content bytes, or none) and the point `0x04 || xy`.
fn spki(algorithm: &[u8], params: Option<&[u8]>, xy: &[u8]) -> Vec<u8> {
    let mut alg = vec![0x06, algorithm.len() as u8];
    alg.extend_from_slice(algorithm);
    if let Some(p) = params {
        alg.extend([0x06, p.len() as u8]);
        alg.extend_from_slice(p);
    }
    let mut body = vec![0x30, alg.len() as u8];
    body.extend(alg);
    body.extend([0x03, (xy.len() + 2) as u8, 0x00, 0x04]);
    body.extend_from_slice(xy);
    let mut der = vec![0x30, body.len() as u8];
    der.extend(body);
    der
}

fn pem(der: &[u8]) -> Vec<u8> {
    // base64 without a dependency: the standard alphabet, padded.
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = Vec::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            b64.push(if i <= chunk.len() {
                A[(n >> (18 - 6 * i) & 63) as usize]
            } else {
                b'='
            });
        }
    }
    let mut out = b"-----BEGIN PUBLIC KEY-----\n".to_vec();
    for line in b64.chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END PUBLIC KEY-----\n");
    out
}

const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

#[test]
#[cfg_attr(
    miri,
    ignore = "elliptic-curve arithmetic (the simulator's keys): minutes under Miri"
)]
fn every_form_of_the_server_key_is_read_with_its_curve_mode_and_size() {
    for curve in Curve::ALL {
        let key = server_key(sim_curve(curve));
        let (raw, der, pem) = (
            key.public_key_raw(),
            key.public_key_der(),
            key.public_key_pem(),
        );
        let mut prefixed = vec![0x04];
        prefixed.extend_from_slice(&raw);
        let name = std::ffi::CString::new(curve.as_str()).unwrap();
        let upper = std::ffi::CString::new(curve.as_str().to_ascii_uppercase()).unwrap();
        let forms: [(&[u8], rtm_key_format, Option<&CStr>); 10] = [
            (pem.as_bytes(), RTM_KEY_AUTO, None),
            (pem.as_bytes(), RTM_KEY_PEM, None),
            (pem.as_bytes(), RTM_KEY_PEM, Some(&name)),
            (&der, RTM_KEY_AUTO, None),
            (&der, RTM_KEY_DER, Some(&upper)),
            (&raw, RTM_KEY_AUTO, Some(&name)),
            (&raw, RTM_KEY_RAW, Some(&name)),
            (&raw, RTM_KEY_RAW, Some(&upper)),
            (&prefixed, RTM_KEY_RAW, Some(&name)),
            (&prefixed, RTM_KEY_AUTO, Some(&name)),
        ];
        for (i, (bytes, format, c)) in forms.into_iter().enumerate() {
            let mut enc = setting(bytes, format, c);
            assert_eq!(
                checked(&enc),
                Ok((curve, EncryptionMode::Package, Bits::Aes128)),
                "{curve} form {i}"
            );
            enc.stream_mode = true;
            enc.aes256 = true;
            assert_eq!(
                checked(&enc),
                Ok((curve, EncryptionMode::Stream, Bits::Aes256))
            );
        }
    }
    // The aliases OpenSSL and NIST use.
    let key = server_key(SimCurve::Secp256r1).public_key_raw();
    for alias in [c"prime256v1", c"P-256", c"p-256"] {
        let enc = setting(&key, RTM_KEY_RAW, Some(alias));
        assert_eq!(checked(&enc).map(|c| c.0), Ok(Curve::Secp256r1));
    }
    // No server key: plaintext, whatever else is set (NULL and a zero struct alike).
    let mut none = plaintext();
    none.curve = c"nonsense".as_ptr();
    assert_eq!(status(&none), RTM_OK);
    // SAFETY: NULL is plaintext.
    assert_eq!(unsafe { rtm_encryption_check(null()) }, RTM_OK);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "elliptic-curve arithmetic (the simulator's keys): minutes under Miri"
)]
fn every_refusal_has_its_own_code() {
    let k1 = server_key(SimCurve::Secp256k1);
    let (raw, der) = (k1.public_key_raw(), k1.public_key_der());
    let r1 = server_key(SimCurve::Secp256r1).public_key_pem();
    let mut not_uncompressed = vec![0x05];
    not_uncompressed.extend_from_slice(&raw);
    let mut off_curve = raw.clone();
    off_curve[63] ^= 1;
    // An Ed25519 key (1.3.101.112) and an EC key on secp384r1 (1.3.132.0.34).
    let ed25519 = {
        let mut d = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        d.extend([7u8; 32]);
        d
    };
    let p384 = spki(
        EC_PUBLIC_KEY,
        Some(&[0x2b, 0x81, 0x04, 0x00, 0x22]),
        &[9u8; 96],
    );
    let mut bad_der = der.clone();
    bad_der[1] ^= 0x10; // the outer length no longer matches
    let long_pem = pem(&[0u8; 200]);
    let ed25519_pem = pem(&ed25519);
    let bad_pem = b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n".to_vec();
    let short = [1u8; 31];
    let cases: Vec<(&str, rtm_encryption, rtm_status)> = vec![
        (
            "63 bytes",
            setting(&raw[..63], RTM_KEY_RAW, Some(c"secp256k1")),
            RTM_ERR_KEY_WRONG_LENGTH,
        ),
        (
            "a secp224r1 length",
            setting(&raw[..56], RTM_KEY_RAW, Some(c"secp256k1")),
            RTM_ERR_KEY_WRONG_LENGTH,
        ),
        (
            "65 bytes, 0x05",
            setting(&not_uncompressed, RTM_KEY_RAW, Some(c"secp256k1")),
            RTM_ERR_KEY_NOT_UNCOMPRESSED,
        ),
        (
            "off the curve",
            setting(&off_curve, RTM_KEY_AUTO, Some(c"secp256k1")),
            RTM_ERR_KEY_NOT_ON_CURVE,
        ),
        (
            "another curve's point",
            setting(&raw, RTM_KEY_RAW, Some(c"secp256r1")),
            RTM_ERR_KEY_NOT_ON_CURVE,
        ),
        (
            "Ed25519",
            setting(&ed25519, RTM_KEY_AUTO, None),
            RTM_ERR_KEY_NOT_EC,
        ),
        (
            "Ed25519 as PEM",
            setting(&ed25519_pem, RTM_KEY_PEM, None),
            RTM_ERR_KEY_NOT_EC,
        ),
        (
            "secp384r1",
            setting(&p384, RTM_KEY_DER, None),
            RTM_ERR_KEY_UNKNOWN_CURVE,
        ),
        (
            "bad base64",
            setting(&bad_pem, RTM_KEY_AUTO, None),
            RTM_ERR_KEY_BAD_PEM,
        ),
        (
            "DER as PEM",
            setting(&der, RTM_KEY_PEM, None),
            RTM_ERR_KEY_BAD_PEM,
        ),
        (
            "200 bytes of PEM",
            setting(&long_pem, RTM_KEY_AUTO, None),
            RTM_ERR_KEY_TOO_LONG,
        ),
        (
            "a broken length",
            setting(&bad_der, RTM_KEY_AUTO, None),
            RTM_ERR_KEY_BAD_DER,
        ),
        (
            "raw as DER",
            setting(&raw, RTM_KEY_DER, None),
            RTM_ERR_KEY_BAD_DER,
        ),
        (
            "raw, no curve",
            setting(&raw, RTM_KEY_AUTO, None),
            RTM_ERR_KEY_NEEDS_CURVE,
        ),
        (
            "RTM_KEY_RAW, no curve",
            setting(&raw, RTM_KEY_RAW, None),
            RTM_ERR_KEY_NEEDS_CURVE,
        ),
        (
            "a secp256r1 PEM named secp256k1",
            setting(r1.as_bytes(), RTM_KEY_AUTO, Some(c"secp256k1")),
            RTM_ERR_KEY_CURVE_MISMATCH,
        ),
        (
            "a secp256k1 DER named P-256",
            setting(&der, RTM_KEY_DER, Some(c"P-256")),
            RTM_ERR_KEY_CURVE_MISMATCH,
        ),
        (
            "secp384r1 by name",
            setting(&raw, RTM_KEY_RAW, Some(c"secp384r1")),
            RTM_ERR_UNKNOWN_CURVE,
        ),
        (
            "an empty name",
            setting(&raw, RTM_KEY_RAW, Some(c"")),
            RTM_ERR_UNKNOWN_CURVE,
        ),
        (
            "a format of 4",
            setting(&raw, 4, Some(c"secp256k1")),
            RTM_ERR_INVALID_ARG,
        ),
        (
            "31 bytes of entropy",
            rtm_encryption {
                entropy: short.as_ptr(),
                entropy_len: 31,
                ..setting(&der, RTM_KEY_AUTO, None)
            },
            RTM_ERR_SHORT_ENTROPY,
        ),
        (
            "no entropy",
            rtm_encryption {
                entropy: null(),
                entropy_len: 0,
                ..setting(&der, RTM_KEY_AUTO, None)
            },
            RTM_ERR_SHORT_ENTROPY,
        ),
        (
            "NULL entropy, 32 bytes",
            rtm_encryption {
                entropy: null(),
                ..setting(&der, RTM_KEY_AUTO, None)
            },
            RTM_ERR_NULL,
        ),
        (
            "NULL key, 91 bytes",
            rtm_encryption {
                server_key: null(),
                ..setting(&der, RTM_KEY_AUTO, None)
            },
            RTM_ERR_NULL,
        ),
    ];
    for (what, enc, want) in &cases {
        assert_eq!(status(enc), *want, "{what}");
    }
    // A name that is not UTF-8 is no curve's.
    let latin1 = [0xe9u8, 0];
    let enc = rtm_encryption {
        curve: latin1.as_ptr().cast::<c_char>(),
        ..setting(&raw, RTM_KEY_RAW, None)
    };
    assert_eq!(status(&enc), RTM_ERR_UNKNOWN_CURVE);
    // Every encryption code is distinct and described.
    let codes = [
        RTM_ERR_KEY_WRONG_LENGTH,
        RTM_ERR_KEY_NOT_UNCOMPRESSED,
        RTM_ERR_KEY_NOT_ON_CURVE,
        RTM_ERR_KEY_NOT_EC,
        RTM_ERR_KEY_UNKNOWN_CURVE,
        RTM_ERR_KEY_BAD_PEM,
        RTM_ERR_KEY_TOO_LONG,
        RTM_ERR_KEY_BAD_DER,
        RTM_ERR_KEY_NEEDS_CURVE,
        RTM_ERR_KEY_CURVE_MISMATCH,
        RTM_ERR_UNKNOWN_CURVE,
        RTM_ERR_CURVE_NOT_COMPILED,
        RTM_ERR_SHORT_ENTROPY,
        RTM_ERR_ENCRYPTION_NOT_COMPILED,
    ];
    let mut texts = std::collections::BTreeSet::new();
    for (i, &c) in codes.iter().enumerate() {
        assert_eq!(c, 120 + i as i32);
        // SAFETY: rtm_status_str returns static NUL-terminated strings.
        let t = unsafe { CStr::from_ptr(rtm_status_str(c)) };
        assert_ne!(t.to_bytes(), b"unknown status");
        assert!(texts.insert(t.to_owned()), "{t:?} twice");
    }
}

/// The C side of the setting without curve arithmetic (the part Miri checks): NULL pointers
/// with and without lengths, the curve name read up to its NUL, refusals decided before any
/// key is parsed.
#[test]
fn the_setting_is_read_through_its_pointers() {
    let raw = [1u8; 64];
    let pem = b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n";
    // A name in a longer buffer: read up to its NUL only.
    let name = b"secp384r1\0secp256k1";
    let cases = [
        (plaintext(), RTM_OK),
        (
            rtm_encryption {
                entropy: ENTROPY.as_ptr(),
                entropy_len: 32,
                ..plaintext()
            },
            RTM_OK,
        ),
        (
            rtm_encryption {
                entropy_len: 32,
                ..plaintext()
            },
            RTM_ERR_NULL,
        ),
        (
            rtm_encryption {
                server_key_len: 64,
                ..plaintext()
            },
            RTM_ERR_NULL,
        ),
        (setting(&raw, RTM_KEY_AUTO, None), RTM_ERR_KEY_NEEDS_CURVE),
        (setting(&raw, RTM_KEY_RAW, None), RTM_ERR_KEY_NEEDS_CURVE),
        (setting(&raw, 9, Some(c"secp256k1")), RTM_ERR_INVALID_ARG),
        (
            setting(&raw, RTM_KEY_RAW, Some(c"secp25")),
            RTM_ERR_UNKNOWN_CURVE,
        ),
        (
            rtm_encryption {
                curve: name.as_ptr().cast::<c_char>(),
                ..setting(&raw, RTM_KEY_RAW, None)
            },
            RTM_ERR_UNKNOWN_CURVE,
        ),
        (setting(pem, RTM_KEY_AUTO, None), RTM_ERR_KEY_BAD_PEM),
        (
            setting(pem, RTM_KEY_PEM, Some(c"P-256")),
            RTM_ERR_KEY_BAD_PEM,
        ),
        (setting(&raw[..10], RTM_KEY_DER, None), RTM_ERR_KEY_BAD_DER),
    ];
    for (i, (enc, want)) in cases.iter().enumerate() {
        assert_eq!(status(enc), *want, "case {i}");
    }
    let mut l = boxed();
    let mut cfg = config(no_monitor());
    // SAFETY: the pointers are to live test memory.
    unsafe {
        cfg.encryption = cases[4].0;
        assert_eq!(
            rtm_listener_init(&mut *l, size_of::<rtm_listener>(), &cfg),
            RTM_ERR_KEY_NEEDS_CURVE
        );
        // Plaintext with entropy: taken (the entropy stirred in).
        cfg.encryption = cases[1].0;
        assert_eq!(
            rtm_listener_init(&mut *l, size_of::<rtm_listener>(), &cfg),
            RTM_OK
        );
        assert_eq!(
            rtm_listener_set_encryption(&mut *l, &cases[7].0),
            RTM_ERR_UNKNOWN_CURVE
        );
        assert_eq!(rtm_listener_set_encryption(&mut *l, &cases[1].0), RTM_OK);
        assert_eq!(
            rtm_listener_add_entropy(&mut *l, ENTROPY.as_ptr(), 32),
            RTM_OK
        );
        assert_eq!(rtm_listener_deinit(&mut *l), RTM_OK);
    }
}

#[test]
fn key_and_entropy_errors_map_one_to_one() {
    use crate::encryption::{ecdh_status, key_status};
    use engine::crypto::{EcdhError, KeyError};
    let keys = [
        (
            KeyError::WrongLength {
                expected: 64,
                got: 3,
            },
            RTM_ERR_KEY_WRONG_LENGTH,
        ),
        (KeyError::NotUncompressed(2), RTM_ERR_KEY_NOT_UNCOMPRESSED),
        (KeyError::NotOnCurve, RTM_ERR_KEY_NOT_ON_CURVE),
        (KeyError::NotEcKey, RTM_ERR_KEY_NOT_EC),
        (KeyError::UnknownCurve, RTM_ERR_KEY_UNKNOWN_CURVE),
        (
            KeyError::CurveNotCompiled(Curve::Secp192r1),
            RTM_ERR_CURVE_NOT_COMPILED,
        ),
        (KeyError::BadPem, RTM_ERR_KEY_BAD_PEM),
        (KeyError::TooLong, RTM_ERR_KEY_TOO_LONG),
        (KeyError::BadDer, RTM_ERR_KEY_BAD_DER),
    ];
    for (e, want) in keys {
        assert_eq!(key_status(e), want, "{e:?}");
    }
    assert_eq!(
        ecdh_status(EcdhError::CurveNotCompiled(Curve::Secp224r1)),
        RTM_ERR_CURVE_NOT_COMPILED
    );
    assert_eq!(
        ecdh_status(EcdhError::ShortEntropy { needed: 32, got: 1 }),
        RTM_ERR_SHORT_ENTROPY
    );
}

/// The method of the first frame in `tx` (an FPNN quest: the method follows the 16-byte header).
fn first_method(tx: &[u8]) -> &[u8] {
    let n = usize::from(tx[7]);
    &tx[16..16 + n]
}

/// What `l` has to send (taken).
unsafe fn take_tx(l: *mut rtm_listener) -> Vec<u8> {
    let (mut data, mut len) = (null(), 0);
    // SAFETY: `l` is live (caller); the bytes are valid until the next call.
    unsafe {
        assert_eq!(rtm_listener_transmit(l, &mut data, &mut len), RTM_OK);
        let out = core::slice::from_raw_parts(data, len).to_vec();
        // RTM_CLOSE once the listener asked to close.
        let st = rtm_listener_transmit_done(l, len);
        assert!(st == RTM_OK || st == RTM_CLOSE, "{st}");
        out
    }
}

#[derive(Default)]
struct Reasons(Vec<rtm_close_reason>);

unsafe extern "C" fn on_disconnected(
    user: *mut core::ffi::c_void,
    _: rtm_str,
    reason: *const rtm_close_reason,
    _: u64,
) {
    // SAFETY: `user` is the test's Reasons; `reason` is valid during the callback.
    unsafe { (*user.cast::<Reasons>()).0.push(*reason) };
}

#[test]
#[cfg_attr(miri, ignore = "elliptic-curve arithmetic: minutes under Miri")]
fn a_refused_setting_leaves_the_listener_and_an_unanswered_key_exchange_closes() {
    let der = server_key(SimCurve::Secp256r1).public_key_der();
    let mut seen = Reasons::default();
    let mut m = no_monitor();
    m.user = (&raw mut seen).cast();
    m.disconnected = Some(on_disconnected);
    let mut storage = boxed();
    let l: *mut rtm_listener = &raw mut *storage;
    let mut cfg = config(m);
    cfg.quest_timeout_ms = 1000;
    // SAFETY: `l` is live storage; the config, key and `seen` outlive the listener's use.
    unsafe {
        // Refused at init: nothing is built.
        cfg.encryption = setting(&der[..90], RTM_KEY_AUTO, None);
        assert_eq!(
            rtm_listener_init(l, size_of::<rtm_listener>(), &cfg),
            RTM_ERR_KEY_BAD_DER
        );
        let mut at = 0;
        assert_eq!(rtm_listener_next_timeout(l, &mut at), RTM_ERR_UNINIT);
        cfg.encryption = setting(&der, RTM_KEY_DER, None);
        assert_eq!(
            rtm_listener_init(l, size_of::<rtm_listener>(), &cfg),
            RTM_OK
        );
        // A refused init over a live listener leaves it live and unchanged.
        let mut bad = cfg.encryption;
        bad.entropy_len = 8;
        let good = cfg.encryption;
        cfg.encryption = bad;
        assert_eq!(
            rtm_listener_init(l, size_of::<rtm_listener>(), &cfg),
            RTM_ERR_SHORT_ENTROPY
        );
        assert_eq!(rtm_listener_set_encryption(l, &bad), RTM_ERR_SHORT_ENTROPY);
        assert_eq!(rtm_listener_add_entropy(l, ENTROPY.as_ptr(), 5), RTM_OK);
        assert_eq!(rtm_listener_add_entropy(l, null(), 5), RTM_ERR_NULL);
        assert_eq!(rtm_listener_set_encryption(null_mut(), &good), RTM_ERR_NULL);
        // Connected: the plaintext `*key` quest goes first, nothing else before its answer.
        assert_eq!(rtm_listener_connected(l, 0, rtm_str::from(b"gw")), RTM_OK);
        let tx = take_tx(l);
        assert_eq!(&tx[..4], b"FPNN");
        assert_eq!(tx[6], 1, "twoway");
        assert_eq!(first_method(&tx), b"*key");
        // No answer within the quest timeout: the key exchange failed with 20003.
        assert_eq!(rtm_listener_handle_timeout(l, 1000), RTM_CLOSE);
        let mut why = rtm_close_reason_of(RTM_REASON_PEER_CLOSED);
        assert_eq!(rtm_listener_close_reason(l, &mut why), RTM_OK);
        assert_eq!((why.kind, why.code), (RTM_REASON_KEY_EXCHANGE, 20003));
        assert!(rtm_close_reason_is_error(&why));
        assert_eq!(
            CStr::from_ptr(rtm_close_reason_str(&why)),
            c"the key exchange failed"
        );
        assert_eq!(rtm_listener_closed(l, 1001, &why), RTM_OK);
        assert_eq!(seen.0, [why]);
        let mut st = rtm_stats::default();
        assert_eq!(rtm_listener_stats(l, &mut st), RTM_OK);
        assert_eq!((st.key_exchanges, st.key_exchange_failures), (0, 1));
        // Package mode: a zero package length is a bad package.
        assert_eq!(
            rtm_listener_connected(l, 2000, rtm_str::from(b"gw")),
            RTM_OK
        );
        assert_eq!(first_method(&take_tx(l)), b"*key");
        let mut used = 0;
        assert_eq!(
            rtm_listener_receive(l, 2001, [0u8; 4].as_ptr(), 4, &mut used),
            RTM_CLOSE
        );
        assert_eq!(rtm_listener_close_reason(l, &mut why), RTM_OK);
        assert_eq!(
            (why.kind, why.protocol),
            (RTM_REASON_PROTOCOL, RTM_PROTOCOL_BAD_PACKAGE)
        );
        assert_eq!(rtm_listener_closed(l, 2002, &why), RTM_OK);
        assert_eq!(
            crate::reason::from_c(&why, None),
            Ok(CloseReason::Protocol(
                engine::wire::frame::FrameError::BadPackage
            ))
        );
        // Turned off (NULL): the next connection is plaintext, nothing to send on it.
        assert_eq!(rtm_listener_set_encryption(l, null()), RTM_OK);
        assert_eq!(
            rtm_listener_connected(l, 3000, rtm_str::from(b"gw")),
            RTM_OK
        );
        assert!(take_tx(l).is_empty());
        assert_eq!(
            rtm_listener_closed(l, 3001, &rtm_close_reason_of(RTM_REASON_HOST)),
            RTM_OK
        );
        // On again, in stream mode: the `*key` quest again.
        let stream = rtm_encryption {
            stream_mode: true,
            ..good
        };
        assert_eq!(rtm_listener_set_encryption(l, &stream), RTM_OK);
        assert_eq!(
            rtm_listener_connected(l, 4000, rtm_str::from(b"gw")),
            RTM_OK
        );
        assert_eq!(first_method(&take_tx(l)), b"*key");
        assert_eq!(rtm_listener_stats(l, &mut st), RTM_OK);
        assert_eq!(
            (st.key_exchanges, st.key_exchange_failures, st.connections),
            (0, 2, 4)
        );
        assert_eq!(rtm_listener_deinit(l), RTM_OK);
    }
}

/// Pushes and key exchanges a session saw.
#[derive(Default)]
struct Session {
    chats: Vec<i64>,
    restored: Vec<i64>,
    reasons: Vec<rtm_close_reason>,
}

unsafe extern "C" fn on_chat(user: *mut core::ffi::c_void, m: *const rtm_message) {
    // SAFETY: `user` is the test's Session; `m` is valid during the callback.
    unsafe { (*user.cast::<Session>()).chats.push((*m).message_id) };
}

unsafe extern "C" fn on_restored(user: *mut core::ffi::c_void, code: i64) {
    // SAFETY: `user` is the test's Session.
    unsafe { (*user.cast::<Session>()).restored.push(code) };
}

unsafe extern "C" fn on_session_disconnected(
    user: *mut core::ffi::c_void,
    _: rtm_str,
    reason: *const rtm_close_reason,
    _: u64,
) {
    // SAFETY: `user` is the test's Session; `reason` is valid during the callback.
    unsafe { (*user.cast::<Session>()).reasons.push(*reason) };
}

/// Drives `l` over `sock` until `done` or 10 s; returns the listener's close reason if it asked
/// to close (the connection is then closed and reported).
unsafe fn drive(
    l: *mut rtm_listener,
    sock: &mut TcpStream,
    start: Instant,
    mut done: impl FnMut() -> bool,
) -> Option<rtm_close_reason> {
    let now = || start.elapsed().as_millis() as u64;
    let end = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while !done() {
        assert!(Instant::now() < end, "the session did not finish");
        // SAFETY: `l` is live (caller).
        unsafe {
            let tx = take_tx(l);
            sock.write_all(&tx).unwrap();
            let n = match sock.read(&mut buf) {
                Ok(0) => panic!("the gate closed the connection"),
                Ok(n) => n,
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    0
                }
                Err(e) => panic!("{e}"),
            };
            let mut rest = &buf[..n];
            let mut st = RTM_OK;
            while !rest.is_empty() && st == RTM_OK {
                let mut used = 0;
                st = rtm_listener_receive(l, now(), rest.as_ptr(), rest.len(), &mut used);
                rest = &rest[used..];
                sock.write_all(&take_tx(l)).unwrap();
            }
            if st == RTM_OK {
                st = rtm_listener_handle_timeout(l, now());
            }
            if st == RTM_CLOSE {
                let mut why = rtm_close_reason_of(RTM_REASON_HOST);
                assert_eq!(rtm_listener_close_reason(l, &mut why), RTM_OK);
                assert_eq!(rtm_listener_closed(l, now(), &why), RTM_OK);
                return Some(why);
            }
            assert_eq!(st, RTM_OK);
        }
    }
    None
}

#[test]
#[cfg_attr(miri, ignore = "sockets and elliptic-curve arithmetic")]
fn encrypted_sessions_against_the_gate_in_both_modes_and_sizes() {
    let combos = [
        (SimCurve::Secp256k1, false, false),
        (SimCurve::Secp256r1, true, true),
        (SimCurve::Secp224r1, false, true),
        (SimCurve::Secp192r1, true, false),
    ];
    for (curve, stream_mode, aes256) in combos {
        let key = server_key(curve);
        let gate = Gate::start(GateConfig {
            encryption: Some(key.clone()),
            force_encrypt: true,
            ..GateConfig::default()
        })
        .unwrap();
        let raw = key.public_key_raw();
        let name = std::ffi::CString::new(curve.name()).unwrap();
        let mut seen = Session::default();
        let mut m = no_monitor();
        m.user = (&raw mut seen).cast();
        m.push_p2p_chat = Some(on_chat);
        m.restored = Some(on_restored);
        m.disconnected = Some(on_session_disconnected);
        let mut cfg = config(m);
        cfg.pid = 1_000_001;
        cfg.secret = rtm_str::from(b"sim-secret");
        cfg.encryption = rtm_encryption {
            stream_mode,
            aes256,
            ..setting(&raw, RTM_KEY_RAW, Some(&name))
        };
        let mut storage = boxed();
        let l: *mut rtm_listener = &raw mut *storage;
        let start = Instant::now();
        let seen_ptr: *const Session = &raw const seen;
        // SAFETY: `l` is live; the config, key and `seen` outlive the listener's use (read
        // through `seen_ptr` between calls, never during one).
        unsafe {
            assert_eq!(
                rtm_listener_init(l, size_of::<rtm_listener>(), &cfg),
                RTM_OK
            );
            let uid = [1001i64];
            let ids = rtm_ids {
                uids: uid.as_ptr(),
                uids_len: 1,
                ..core::mem::zeroed()
            };
            let mut id = 0;
            assert_eq!(rtm_listen_add(l, 0, &ids, &mut id), RTM_OK);
            for round in 0..2i64 {
                let mut sock = TcpStream::connect(gate.addr()).unwrap();
                sock.set_read_timeout(Some(Duration::from_millis(5)))
                    .unwrap();
                assert_eq!(rtm_listener_set_unix_time(l, 0, 1_700_000_000_000), RTM_OK);
                let fresh = [round as u8; 40];
                assert_eq!(
                    rtm_listener_add_entropy(l, fresh.as_ptr(), fresh.len()),
                    RTM_OK
                );
                assert_eq!(
                    rtm_listener_connected(
                        l,
                        start.elapsed().as_millis() as u64,
                        rtm_str::from(b"gate")
                    ),
                    RTM_OK
                );
                let restored = (round + 1) as usize;
                assert_eq!(
                    drive(l, &mut sock, start, || (*seen_ptr).restored.len()
                        == restored),
                    None
                );
                assert_eq!((&(*seen_ptr).restored)[round as usize], 0);
                let mid = 100 + round;
                gate.push(Push::chat(Target::P2p(1001), 1002, mid, "encrypted"));
                let chats = (round + 1) as usize;
                assert_eq!(
                    drive(l, &mut sock, start, || (*seen_ptr).chats.len() == chats),
                    None
                );
                // The listens were restored on the new connection, over the new key.
                drop(sock);
                assert_eq!(
                    rtm_listener_closed(
                        l,
                        start.elapsed().as_millis() as u64,
                        &rtm_close_reason_of(RTM_REASON_PEER_CLOSED)
                    ),
                    RTM_OK
                );
            }
            let mut st = rtm_stats::default();
            assert_eq!(rtm_listener_stats(l, &mut st), RTM_OK);
            assert_eq!(
                (st.key_exchanges, st.key_exchange_failures, st.pushes),
                (2, 0, 2)
            );
            assert_eq!(rtm_listener_deinit(l), RTM_OK);
        }
        assert_eq!(seen.chats, [100, 101], "{curve:?}");
        let records = gate.key_exchanges();
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|r| r.encrypted()));
        // Two connections, two fresh client keys.
        assert_ne!(records[0].payload, records[1].payload);
        assert!(gate.malformed().is_empty());
    }
}

/// The simulator's key-error fault answers `*key` in plaintext (the C++ server never answers it
/// with an error: it closes). The listener reads everything after its `*key` as ciphertext, so
/// in package mode that answer is a bad package: the connection ends with
/// `RTM_PROTOCOL_BAD_PACKAGE` through the C ABI, counted as a failed key exchange.
#[test]
#[cfg_attr(miri, ignore = "sockets and elliptic-curve arithmetic")]
fn a_plaintext_answer_to_the_key_quest_is_a_bad_package() {
    let key = server_key(SimCurve::Secp256k1);
    let gate = Gate::start(GateConfig {
        encryption: Some(key.clone()),
        ..GateConfig::default()
    })
    .unwrap();
    gate.set_key_error(Some(20099));
    let pem = key.public_key_pem();
    let mut seen = Session::default();
    let mut m = no_monitor();
    m.user = (&raw mut seen).cast();
    m.disconnected = Some(on_session_disconnected);
    let mut cfg = config(m);
    cfg.encryption = setting(pem.as_bytes(), RTM_KEY_PEM, None);
    let mut storage = boxed();
    let l: *mut rtm_listener = &raw mut *storage;
    let start = Instant::now();
    // SAFETY: `l` is live; the config, key and `seen` outlive the listener's use.
    unsafe {
        assert_eq!(
            rtm_listener_init(l, size_of::<rtm_listener>(), &cfg),
            RTM_OK
        );
        let mut sock = TcpStream::connect(gate.addr()).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        assert_eq!(rtm_listener_connected(l, 0, rtm_str::from(b"gate")), RTM_OK);
        let why = drive(l, &mut sock, start, || false).expect("a close request");
        assert_eq!(
            (why.kind, why.protocol),
            (RTM_REASON_PROTOCOL, RTM_PROTOCOL_BAD_PACKAGE)
        );
        let mut st = rtm_stats::default();
        assert_eq!(rtm_listener_stats(l, &mut st), RTM_OK);
        assert_eq!((st.key_exchanges, st.key_exchange_failures), (0, 1));
        assert_eq!(rtm_listener_deinit(l), RTM_OK);
    }
    assert_eq!(seen.reasons.len(), 1);
    assert_eq!(seen.reasons[0].protocol, RTM_PROTOCOL_BAD_PACKAGE);
}
