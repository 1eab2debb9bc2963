#!/usr/bin/env python3
"""OpenSSL oracle for tests/crypto_openssl.rs: the server's side of FPNN encryption, computed with
pyca/cryptography (OpenSSL), written from the wire description (fpnn-rtm.md section 4), not from
the Rust code under test.

Protocol: one JSON object per line on stdin, one JSON answer per line on stdout. Bytes are hex.

  {"op": "server", "curve": NAME}
      -> {"id": N, "raw": X||Y, "der": SPKI DER, "pem": SPKI PEM text}
      A fresh server key pair from OpenSSL's generator, kept under id N.
  {"op": "exchange", "id": N, "client_public": X||Y, "bits": 128|256, "seed": S, "len": L}
      -> {"secret": .., "key": .., "iv": .., "plaintext": .., "ciphertext": ..}
      The server's shared secret with the client's public key, the key and IV derived from it,
      and L random bytes (from seed S) encrypted with OpenSSL's AES-CFB (CFB-128) from the IV.
  {"op": "decrypt", "id": N, "bits": 128|256, "client_public": X||Y, "ciphertext": ..}
      -> {"plaintext": ..}   OpenSSL's AES-CFB decryption with the same derived key and IV.
  {"op": "negatives", "curve": NAME}
      -> {"not_on_curve_raw": .., "not_on_curve_der": .., "not_on_curve_pem": ..,
          "wrong_length_raw": .., "unknown_curve_der": .., "unknown_curve_pem": ..,
          "too_long_pem": .., "not_ec_der": .., "rsa_pem": ..}
      Keys each parser must refuse, each for its own reason.

Exit code 0 at end of input.
"""
import base64
import hashlib
import json
import random
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # cryptography >= 47 keeps CFB among the "decrepit" modes (removed from `modes` in 49)
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:
    from cryptography.hazmat.primitives.ciphers.modes import CFB

CURVES = {
    "secp256k1": (ec.SECP256K1, 32),
    "secp256r1": (ec.SECP256R1, 32),
    "secp224r1": (ec.SECP224R1, 28),
    "secp192r1": (ec.SECP192R1, 24),
}

SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
keys = {}


def raw_point(public_key, n):
    nums = public_key.public_numbers()
    return nums.x.to_bytes(n, "big") + nums.y.to_bytes(n, "big")


def derive(curve_name, private_key, client_public_hex, bits):
    curve_cls, n = CURVES[curve_name]
    raw = bytes.fromhex(client_public_hex)
    assert len(raw) == 2 * n
    peer = ec.EllipticCurvePublicNumbers(
        int.from_bytes(raw[:n], "big"), int.from_bytes(raw[n:], "big"), curve_cls()
    ).public_key()
    secret = private_key.exchange(ec.ECDH(), peer)
    assert len(secret) == n
    if bits == 128:
        key = secret[:16]
    elif bits == 256:
        key = secret if n == 32 else hashlib.sha256(secret).digest()
    else:
        raise ValueError(f"bits {bits}")
    return secret, key, hashlib.md5(secret).digest()


def cfb(key, iv):
    return Cipher(algorithms.AES(key), CFB(iv))


def spki_der_with_point(curve_cls, point):
    """The DER of a key on curve_cls, with its point replaced by `point` (same length)."""
    real = ec.generate_private_key(curve_cls()).public_key()
    der = real.public_bytes(serialization.Encoding.DER, SPKI)
    real_point = real.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert der.endswith(real_point) and len(point) == len(real_point)
    return der[: -len(real_point)] + point


def pem_of(der):
    body = base64.encodebytes(der).decode()
    return f"-----BEGIN PUBLIC KEY-----\n{body}-----END PUBLIC KEY-----\n"


def handle(req):
    op = req["op"]
    if op == "server":
        curve_cls, n = CURVES[req["curve"]]
        priv = ec.generate_private_key(curve_cls())
        pub = priv.public_key()
        kid = len(keys)
        keys[kid] = (req["curve"], priv)
        return {
            "id": kid,
            "raw": raw_point(pub, n).hex(),
            "der": pub.public_bytes(serialization.Encoding.DER, SPKI).hex(),
            "pem": pub.public_bytes(serialization.Encoding.PEM, SPKI).decode(),
        }
    if op == "exchange":
        curve_name, priv = keys[req["id"]]
        secret, key, iv = derive(curve_name, priv, req["client_public"], req["bits"])
        plaintext = random.Random(req["seed"]).randbytes(req["len"])
        enc = cfb(key, iv).encryptor()
        ciphertext = enc.update(plaintext) + enc.finalize()
        return {
            "secret": secret.hex(),
            "key": key.hex(),
            "iv": iv.hex(),
            "plaintext": plaintext.hex(),
            "ciphertext": ciphertext.hex(),
        }
    if op == "decrypt":
        curve_name, priv = keys[req["id"]]
        _, key, iv = derive(curve_name, priv, req["client_public"], req["bits"])
        dec = cfb(key, iv).decryptor()
        return {"plaintext": (dec.update(bytes.fromhex(req["ciphertext"])) + dec.finalize()).hex()}
    if op == "negatives":
        curve_cls, n = CURVES[req["curve"]]
        good = raw_point(ec.generate_private_key(curve_cls()).public_key(), n)
        # Flip the last bit of Y: for a given X at most two Y (y, p - y, of different parity)
        # satisfy the equation, so Y xor 1 is off the curve.
        off = good[:-1] + bytes([good[-1] ^ 1])
        off_der = spki_der_with_point(curve_cls, b"\x04" + off)
        p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
        p521 = ec.generate_private_key(ec.SECP521R1()).public_key()
        ed = ed25519.Ed25519PrivateKey.generate().public_key()
        rsa_pub = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
        return {
            "not_on_curve_raw": off.hex(),
            "not_on_curve_der": off_der.hex(),
            "not_on_curve_pem": pem_of(off_der),
            "wrong_length_raw": good[:-1].hex(),
            "unknown_curve_der": p384.public_bytes(serialization.Encoding.DER, SPKI).hex(),
            "unknown_curve_pem": p384.public_bytes(serialization.Encoding.PEM, SPKI).decode(),
            "too_long_pem": p521.public_bytes(serialization.Encoding.PEM, SPKI).decode(),
            "not_ec_der": ed.public_bytes(serialization.Encoding.DER, SPKI).hex(),
            "rsa_pem": rsa_pub.public_bytes(serialization.Encoding.PEM, SPKI).decode(),
        }
    raise ValueError(f"unknown op {op!r}")


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            answer = handle(json.loads(line))
        except Exception as e:  # reported to the test, which fails with it
            answer = {"error": repr(e)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
