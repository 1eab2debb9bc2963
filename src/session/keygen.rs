//! The per-connection key generator, shared by FPNN encryption (ephemeral ECDH keys) and
//! WuKongIM's (X25519 client keys): a SHA-256 ratchet over host entropy.

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The per-connection key generator: a SHA-256 ratchet over host entropy. Each connection's
/// key material is `SHA-256(out-tag || state)`, after which the state moves on to
/// `SHA-256(next-tag || state)`, so a key in use says nothing about the next or the previous
/// one. More entropy can be stirred in at any time.
#[derive(Clone, Default)]
pub(crate) struct KeyGen {
    state: [u8; 32],
}

impl KeyGen {
    /// A generator with no entropy yet (all zero bytes).
    pub(crate) const EMPTY: Self = Self { state: [0; 32] };

    const STIR: &'static [u8] = b"rtm-listen key generator: stir";
    const OUT: &'static [u8] = b"rtm-listen key generator: out";
    const NEXT: &'static [u8] = b"rtm-listen key generator: next";

    /// Mixes `entropy` into the state.
    pub(crate) fn stir(&mut self, entropy: &[u8]) {
        let mut next: [u8; 32] = Sha256::new()
            .chain_update(Self::STIR)
            .chain_update(self.state)
            .chain_update(entropy)
            .finalize()
            .into();
        self.state.copy_from_slice(&next);
        next.zeroize();
    }

    /// The next connection's key material (the caller wipes it).
    pub(crate) fn next(&mut self) -> [u8; 32] {
        let out: [u8; 32] = Sha256::new()
            .chain_update(Self::OUT)
            .chain_update(self.state)
            .finalize()
            .into();
        let mut next: [u8; 32] = Sha256::new()
            .chain_update(Self::NEXT)
            .chain_update(self.state)
            .finalize()
            .into();
        self.state.copy_from_slice(&next);
        next.zeroize();
        out
    }
}

impl Drop for KeyGen {
    fn drop(&mut self) {
        self.state.zeroize();
    }
}

impl ZeroizeOnDrop for KeyGen {}

impl core::fmt::Debug for KeyGen {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeyGen { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_generator_moves_on_and_takes_entropy() {
        let mut a = KeyGen::default();
        a.stir(&[1; 32]);
        let mut b = a.clone();
        let (a1, a2) = (a.next(), a.next());
        assert_ne!(a1, a2);
        assert_eq!(b.next(), a1);
        b.stir(&[2]);
        assert_ne!(b.next(), a2);
    }
}
