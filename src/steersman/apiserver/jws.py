"""Compact JSON Web Signatures with ES256 (RFC 7515/7518), as service-account tokens use them.

Contract:

* :func:`sign` turns a JSON-object payload into ``header.payload.signature`` (base64url, no
  padding) with header ``{"alg": "ES256", "kid": …}``; the signature is the raw 64-byte
  ``r || s`` form JWS requires, not the DER form ``cryptography`` produces.
* :func:`verify` accepts only ES256 with a ``kid`` naming one of the given public keys and a
  valid signature, and returns the payload object; anything else raises :class:`JWSError`.
  It never trusts the header to choose an algorithm (no ``none``, no HMAC confusion).
* :func:`key_id` is Kubernetes' key id: base64url(SHA-256(DER SubjectPublicKeyInfo)), so a
  token's ``kid`` matches the JWKS entry :func:`jwk` publishes.

Pure: no I/O, no clock. Claims (expiry, audience, issuer) are checked by the caller,
:mod:`.service_account_tokens`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

ALGORITHM = "ES256"
MAX_TOKEN_BYTES = 16 * 1024
_COORDINATE_BYTES = 32


class JWSError(ValueError):
    """The token is malformed, uses another algorithm or key, or its signature is wrong."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JWSError("malformed base64url segment") from exc


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """Kubernetes' ``kid``: base64url of the SHA-256 of the DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64url(hashlib.sha256(der).digest())


def jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The public key as a JSON Web Key (the shape ``/openid/v1/jwks`` serves)."""
    numbers = public_key.public_numbers()
    return {
        "use": "sig", "kty": "EC", "kid": key_id(public_key), "crv": "P-256", "alg": ALGORITHM,
        "x": b64url(numbers.x.to_bytes(_COORDINATE_BYTES, "big")),
        "y": b64url(numbers.y.to_bytes(_COORDINATE_BYTES, "big")),
    }


def sign(payload: Mapping[str, Any], key: ec.EllipticCurvePrivateKey) -> str:
    """``payload`` as a compact ES256 JWS whose ``kid`` is :func:`key_id` of ``key``."""
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("ES256 needs a P-256 key")
    header = {"alg": ALGORITHM, "kid": key_id(key.public_key())}
    signing_input = f"{b64url(orjson.dumps(header))}.{b64url(orjson.dumps(dict(payload)))}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")
    return f"{signing_input}.{b64url(raw)}"


def looks_like_jws(token: str) -> bool:
    """Cheap shape test (three dot-separated segments) before any decoding."""
    return token.count(".") == 2


def verify(token: str, keys: Mapping[str, ec.EllipticCurvePublicKey]) -> dict[str, Any]:
    """The payload of ``token`` if it is ES256-signed by the key its ``kid`` names in ``keys``."""
    if len(token) > MAX_TOKEN_BYTES or not looks_like_jws(token):
        raise JWSError("not a compact JWS")
    header_part, payload_part, signature_part = token.split(".")
    key = keys.get(_key_id_of(_json_object(header_part, "header")))
    if key is None:
        raise JWSError("the token is signed by an unknown key")
    _check_signature(key, f"{header_part}.{payload_part}", _b64url_decode(signature_part))
    return _json_object(payload_part, "payload")


def _key_id_of(header: Mapping[str, Any]) -> str:
    if header.get("alg") != ALGORITHM:
        raise JWSError(f"unsupported signing algorithm {header.get('alg')!r}, want {ALGORITHM}")
    if "crit" in header:
        raise JWSError("critical header extensions are not supported")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JWSError("the token header has no key id")
    return kid


def _check_signature(key: ec.EllipticCurvePublicKey, signing_input: str, raw: bytes) -> None:
    if len(raw) != 2 * _COORDINATE_BYTES:
        raise JWSError("malformed ES256 signature")
    r = int.from_bytes(raw[:_COORDINATE_BYTES], "big")
    s = int.from_bytes(raw[_COORDINATE_BYTES:], "big")
    try:
        key.verify(encode_dss_signature(r, s), signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise JWSError("invalid token signature") from exc


def _json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(_b64url_decode(segment))
    except orjson.JSONDecodeError as exc:
        raise JWSError(f"the token {what} is not JSON") from exc
    if not isinstance(value, dict):
        raise JWSError(f"the token {what} is not a JSON object")
    return value
