//! Encryption building blocks: FPNN's (feature `fpnn-encryption`; curves with `fpnn-ecdh-*`,
//! all four with `encryption`) and WuKongIM's ([`wukong`], feature `wukong-encryption`): pure,
//! I/O-free, allocation-free.
//!
//! The `*key` handshake (reference §4) in pieces:
//!
//! 1. parse the server's public key: [`ServerPublicKey`] (raw `X || Y`, DER or PEM);
//! 2. make an ephemeral key pair on its curve from host entropy: [`EphemeralKey::generate`];
//! 3. send [`EphemeralKey::public_key`] in the plaintext `*key` quest
//!    ([`crate::wire::key_quest`]);
//! 4. derive the shared secret and from it the AES key and IV:
//!    [`EphemeralKey::diffie_hellman`], [`SharedSecret::derive`];
//! 5. encrypt what is sent after `*key`, and decrypt everything received after it (the `*key`
//!    answer included), with one [`AesCfb`] per direction ([`SessionKeys::cipher`]): one
//!    continuous stream per direction in stream mode, restarted with [`AesCfb::reset`] for
//!    every frame in package mode (whose frames carry the 4-byte length prefix of
//!    [`crate::wire::key_quest::package_prefix`]).
//!
//! Secrets (private scalars, shared secrets, AES keys, IVs) are zeroized on drop, and no
//! `Debug` output shows them.
//!
//! ```
//! # #[cfg(feature = "fpnn-ecdh-secp256k1")] {
//! use rtm_listen::crypto::{Bits, Curve, EphemeralKey, ServerPublicKey};
//!
//! // The reference's example 8: server private key 0x1111, client private key 0x2222.
//! let server = EphemeralKey::from_private_bytes(Curve::Secp256k1, &[0x11, 0x11]).unwrap();
//! let server = ServerPublicKey::from_raw(Curve::Secp256k1, server.public_key()).unwrap();
//! let client = EphemeralKey::from_private_bytes(Curve::Secp256k1, &[0x22, 0x22]).unwrap();
//! let keys = client.diffie_hellman(&server).unwrap().derive(Bits::Aes128);
//! let mut send = keys.cipher();
//! let mut frame = *b"FPNN\x01\x80\x01\x05\x01\0\0\0\x02\0\0\0*ping\x80";
//! send.encrypt(&mut frame);
//! assert_eq!(frame[..4], [0x3d, 0xd4, 0x61, 0x89]);
//! # }
//! ```

#[cfg(feature = "fpnn-encryption")]
mod aes_cfb;
#[cfg(feature = "fpnn-encryption")]
mod der;
#[cfg(feature = "fpnn-encryption")]
mod ec;
#[cfg(feature = "fpnn-encryption")]
mod ecdh;
#[cfg(feature = "fpnn-encryption")]
mod params;
#[cfg(feature = "fpnn-encryption")]
mod pem;
#[cfg(feature = "fpnn-encryption")]
mod public_key;
#[cfg(feature = "wukong-encryption")]
pub mod wukong;

#[cfg(feature = "fpnn-encryption")]
pub use aes_cfb::{AesCfb, BLOCK_LEN, InvalidKeyLength};
#[cfg(feature = "fpnn-encryption")]
pub use ecdh::{EcdhError, EphemeralKey, SessionKeys, SharedSecret};
#[cfg(feature = "fpnn-encryption")]
pub use params::{Bits, Curve, MAX_COORD_LEN, MAX_POINT_LEN};
#[cfg(feature = "fpnn-encryption")]
pub use public_key::{KeyError, MAX_DER_LEN, ServerPublicKey};
