//! FPNN encryption for RTM, as the official SDK's `enableEncryptorBy*File`: the listener's from
//! `--server-key` (or the simulator's key with `--encrypt`), `--curve`, `--stream` and
//! `--aes256`; and the simulator's fresh key for `--encrypt`.

use clap::error::ErrorKind;
use rtm_gate_sim::{GateConfig, ServerKey};
use rtm_listen::crypto::{Bits, Curve, ServerPublicKey};
use rtm_listen::driver::tcp::TcpDriver;
use rtm_listen::session::{Encryption, EncryptionMode};

use crate::args::RtmArgs;
use crate::exit::Exit;
use crate::log::Log;

/// The curve the simulator's key is on with `--encrypt` and no `--curve`.
const SIMULATOR_CURVE: &str = "secp256r1";

/// Where the server's public key comes from.
pub enum KeySource<'a> {
    /// `--server-key FILE`.
    File(&'a std::path::Path),
    /// The simulator's raw `X||Y` public key (`--encrypt`).
    Simulator(&'a [u8]),
}

/// Turns FPNN encryption on for `d` as the arguments say. A key file that cannot be read or
/// parsed, or an unknown curve, is a usage error.
pub fn enable(
    d: &mut TcpDriver,
    args: &RtmArgs,
    source: KeySource<'_>,
    log: Log,
) -> Result<(), Exit> {
    let bad = |m: String| Exit::usage(ErrorKind::ValueValidation, m);
    let (bytes, what, default_curve) = match source {
        KeySource::File(path) => (
            std::fs::read(path)
                .map_err(|e| bad(format!("--server-key {}: {e}", path.display())))?,
            format!("--server-key {}", path.display()),
            None,
        ),
        KeySource::Simulator(raw) => (
            raw.to_vec(),
            "the simulator's key".to_owned(),
            Some(SIMULATOR_CURVE),
        ),
    };
    let curve = match args.curve.as_deref().or(default_curve) {
        Some(name) => {
            Some(Curve::from_name(name).ok_or_else(|| bad(format!("unknown --curve {name}")))?)
        }
        None => None,
    };
    let key = ServerPublicKey::parse(&bytes, curve).map_err(|e| bad(format!("{what}: {e}")))?;
    let mode = if args.stream {
        EncryptionMode::Stream
    } else {
        EncryptionMode::Package
    };
    let bits = if args.aes256 {
        Bits::Aes256
    } else {
        Bits::Aes128
    };
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Exit::failure(format!("entropy: {e}")))?;
    d.listener()
        .set_encryption(Some(Encryption::new(key, mode, bits)), &seed)
        .map_err(|e| Exit::failure(format!("encryption: {e}")))?;
    log.info(&format!(
        "encryption {} {:?} AES-{}",
        key.curve().as_str(),
        mode,
        bits.bits()
    ));
    Ok(())
}

/// The simulator's configuration: plaintext, or with `--encrypt` a fresh key on `--curve`.
pub fn simulator_config(args: &RtmArgs) -> Result<GateConfig, Exit> {
    let mut config = GateConfig::default();
    if !args.encrypt {
        return Ok(config);
    }
    let name = args.curve.as_deref().unwrap_or(SIMULATOR_CURVE);
    let curve = rtm_gate_sim::Curve::from_name(name).ok_or_else(|| {
        Exit::usage(
            ErrorKind::ValueValidation,
            format!("unknown --curve {name}"),
        )
    })?;
    let n = match curve {
        rtm_gate_sim::Curve::Secp224r1 => 28,
        rtm_gate_sim::Curve::Secp192r1 => 24,
        _ => 32,
    };
    // A fresh private key: random bytes, drawn again in the rare case they are out of range.
    for _ in 0..8 {
        let mut scalar = [0u8; 32];
        getrandom::fill(&mut scalar).map_err(|e| Exit::failure(format!("entropy: {e}")))?;
        if let Ok(key) = ServerKey::from_private_bytes(curve, &scalar[..n]) {
            config.encryption = Some(key);
            return Ok(config);
        }
    }
    Err(Exit::failure("no valid simulator key drawn"))
}
