//! The curve arithmetic the rest of `crypto` needs, over RustCrypto's `elliptic-curve` traits,
//! dispatched on [`Curve`] to the curve crates compiled in.
//!
//! Everything is in fixed-size byte strings, big-endian as on the wire: a scalar is `n` bytes,
//! a point is `X || Y` (`2n` bytes), the shared secret is `X` (`n` bytes), `n` the curve's
//! [`coord_len`](Curve::coord_len). A curve without its feature answers [`NotCompiled`].

// With no curve compiled in, every function only answers `NotCompiled`.
#![cfg_attr(
    not(any(
        feature = "fpnn-ecdh-secp256k1",
        feature = "fpnn-ecdh-secp256r1",
        feature = "fpnn-ecdh-secp224r1",
        feature = "fpnn-ecdh-secp192r1",
    )),
    allow(unused_variables)
)]

use super::params::Curve;

/// The curve's `fpnn-ecdh-*` feature is off in this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotCompiled;

/// Runs `$body` with `$C` the RustCrypto curve type of `$curve`, or returns `Err(NotCompiled)`
/// when that curve's feature is off.
macro_rules! with_curve {
    ($curve:expr, $C:ident => $body:expr) => {{
        #[allow(unreachable_patterns, unused_variables)]
        match $curve {
            #[cfg(feature = "fpnn-ecdh-secp256k1")]
            Curve::Secp256k1 => {
                type $C = k256::Secp256k1;
                Ok($body)
            }
            #[cfg(feature = "fpnn-ecdh-secp256r1")]
            Curve::Secp256r1 => {
                type $C = p256::NistP256;
                Ok($body)
            }
            #[cfg(feature = "fpnn-ecdh-secp224r1")]
            Curve::Secp224r1 => {
                type $C = p224::NistP224;
                Ok($body)
            }
            #[cfg(feature = "fpnn-ecdh-secp192r1")]
            Curve::Secp192r1 => {
                type $C = p192::NistP192;
                Ok($body)
            }
            _ => Err(NotCompiled),
        }
    }};
}

/// Whether the `2n` bytes `xy` are the coordinates of a point on `curve` (each coordinate
/// below the field prime, and the curve equation holds).
pub(crate) fn is_on_curve(curve: Curve, xy: &[u8]) -> Result<bool, NotCompiled> {
    with_curve!(curve, C => generic::affine::<C>(xy).is_some())
}

/// Writes `scalar · G` as `X || Y` into `out` (`2n` bytes). `Ok(false)` (and `out` untouched)
/// when `scalar` is not a valid private key.
pub(crate) fn public_key(curve: Curve, scalar: &[u8], out: &mut [u8]) -> Result<bool, NotCompiled> {
    with_curve!(curve, C => generic::public_key::<C>(scalar, out))
}

/// Writes the X coordinate of `scalar · (X || Y)` into `out` (`n` bytes). `Ok(false)` (and
/// `out` untouched) when `scalar` is not a valid private key or `xy` not a point on the curve.
pub(crate) fn shared_x(
    curve: Curve,
    scalar: &[u8],
    xy: &[u8],
    out: &mut [u8],
) -> Result<bool, NotCompiled> {
    with_curve!(curve, C => generic::shared_x::<C>(scalar, xy, out))
}

#[cfg(any(
    feature = "fpnn-ecdh-secp256k1",
    feature = "fpnn-ecdh-secp256r1",
    feature = "fpnn-ecdh-secp224r1",
    feature = "fpnn-ecdh-secp192r1",
))]
mod generic {
    use elliptic_curve::group::{Curve as _, Group};
    use elliptic_curve::point::AffineCoordinates;
    use elliptic_curve::zeroize::Zeroize;
    use elliptic_curve::{CurveArithmetic, FieldBytes, NonZeroScalar, ProjectivePoint};

    /// The point `X || Y`, if it is on the curve. The identity has no such encoding.
    pub(super) fn affine<C: CurveArithmetic>(xy: &[u8]) -> Option<C::AffinePoint> {
        let n = xy.len() / 2;
        if xy.len() != 2 * n {
            return None;
        }
        let (x, y) = xy.split_at(n);
        let x = FieldBytes::<C>::try_from(x).ok()?;
        let y = FieldBytes::<C>::try_from(y).ok()?;
        Option::from(C::AffinePoint::from_coordinates(&x, &y))
    }

    /// The scalar, if non-zero and below the order.
    pub(super) fn scalar<C: CurveArithmetic>(bytes: &[u8]) -> Option<NonZeroScalar<C>> {
        let mut repr = FieldBytes::<C>::try_from(bytes).ok()?;
        let s = Option::from(NonZeroScalar::<C>::from_repr(repr));
        repr.zeroize();
        s
    }

    /// `X || Y` of an affine point into `out`.
    fn write_xy<C: CurveArithmetic>(p: &C::AffinePoint, out: &mut [u8]) -> bool {
        let (x, y) = (p.x(), p.y());
        let n = x.len();
        match out.get_mut(..2 * n) {
            Some(out) => {
                out[..n].copy_from_slice(&x);
                out[n..].copy_from_slice(&y);
                true
            }
            None => false,
        }
    }

    pub(super) fn public_key<C: CurveArithmetic>(scalar_bytes: &[u8], out: &mut [u8]) -> bool {
        let Some(mut k) = scalar::<C>(scalar_bytes) else {
            return false;
        };
        let p = (ProjectivePoint::<C>::mul_by_generator(&k)).to_affine();
        k.zeroize();
        write_xy::<C>(&p, out)
    }

    pub(super) fn shared_x<C: CurveArithmetic>(
        scalar_bytes: &[u8],
        xy: &[u8],
        out: &mut [u8],
    ) -> bool {
        let (Some(mut k), Some(peer)) = (scalar::<C>(scalar_bytes), affine::<C>(xy)) else {
            return false;
        };
        let mut shared = (ProjectivePoint::<C>::from(peer) * *k).to_affine();
        k.zeroize();
        // All four curves have prime order (cofactor 1): a non-zero scalar below the order
        // times a point other than the identity is never the identity. Checked anyway.
        let ok = !bool::from(ProjectivePoint::<C>::from(shared).is_identity());
        let mut x = shared.x();
        let written = match out.get_mut(..x.len()) {
            Some(out) if ok => {
                out.copy_from_slice(&x);
                true
            }
            _ => false,
        };
        x.zeroize();
        shared.zeroize();
        written
    }
}
