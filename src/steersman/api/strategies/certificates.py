"""certificates.k8s.io/v1 CertificateSigningRequest validation.

Follows ``pkg/apis/certificates/validation/validation.go``: ``spec.request`` must be one PEM
``CERTIFICATE REQUEST`` block whose signature verifies, ``spec.signerName`` a qualified
``domain/path`` name, ``spec.usages`` known key usages, ``spec.expirationSeconds`` at least
600; conditions are ``Approved``, ``Denied`` or ``Failed`` (never both of the first two).
The spec is immutable after create. Who asked (``spec.username``, ``groups``, ``uid``,
``extra``) is set by the API server from the authenticated user, never by the client
(:mod:`steersman.apiserver.certificate_requests`).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from cryptography import x509

from steersman.api.errors import FieldError, forbidden, invalid, not_supported, required
from steersman.api.strategy import Object

KEY_USAGES = (
    "signing", "digital signature", "content commitment", "key encipherment", "key agreement",
    "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any",
    "server auth", "client auth", "code signing", "email protection", "s/mime",
    "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
    "microsoft sgc", "netscape sgc",
)
CONDITION_TYPES = ("Approved", "Denied", "Failed")
MIN_EXPIRATION_SECONDS = 600
_SIGNER = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?\.[a-z]{2,}/[A-Za-z0-9][-A-Za-z0-9_./]*")
_SIGNER_KUBE = re.compile(r"kubernetes\.io/[-a-z0-9.]+")


def decode_request(spec: dict[str, Any]) -> x509.CertificateSigningRequest:
    """The CSR in ``spec.request`` (base64 of PEM); ValueError says what is wrong with it."""
    try:
        pem = base64.b64decode(str(spec.get("request") or ""), validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError("must be base64-encoded PEM") from err
    if b"-----BEGIN CERTIFICATE REQUEST-----" not in pem:
        raise ValueError("PEM block type must be CERTIFICATE REQUEST")
    try:
        csr = x509.load_pem_x509_csr(pem)
    except ValueError as err:
        raise ValueError(f"cannot parse the certificate request: {err}") from err
    if not csr.is_signature_valid:
        raise ValueError("the certificate request's signature is invalid")
    return csr


def _validate_spec(spec: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    if not spec.get("request"):
        errs.append(required("spec.request"))
    else:
        try:
            decode_request(spec)
        except ValueError as err:
            errs.append(invalid("spec.request", "<the request>", str(err)))
    signer = spec.get("signerName")
    if not signer:
        errs.append(required("spec.signerName"))
    elif not isinstance(signer, str) or not (_SIGNER.fullmatch(signer)
                                             or _SIGNER_KUBE.fullmatch(signer)):
        errs.append(invalid("spec.signerName", signer,
                            "must be a fully qualified domain and path of the form "
                            "'example.com/signer-name'"))
    usages = spec.get("usages")
    if not usages:
        errs.append(required("spec.usages"))
    for i, usage in enumerate(usages if isinstance(usages, list) else []):
        if usage not in KEY_USAGES:
            errs.append(not_supported(f"spec.usages[{i}]", usage, list(KEY_USAGES)))
    seconds = spec.get("expirationSeconds")
    if seconds is not None and (not isinstance(seconds, int) or seconds < MIN_EXPIRATION_SECONDS):
        errs.append(invalid("spec.expirationSeconds", seconds,
                            f"may not specify a duration less than {MIN_EXPIRATION_SECONDS} "
                            "seconds"))
    return errs


def validate_conditions(status: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, condition in enumerate(status.get("conditions") or []):
        kind = condition.get("type") if isinstance(condition, dict) else None
        if not kind:
            errs.append(required(f"status.conditions[{i}].type"))
            continue
        if kind not in CONDITION_TYPES:
            errs.append(not_supported(f"status.conditions[{i}].type", kind,
                                      list(CONDITION_TYPES)))
        if condition.get("status", "True") not in ("True", "False", "Unknown"):
            errs.append(not_supported(f"status.conditions[{i}].status", condition.get("status"),
                                      ["False", "True", "Unknown"]))
        seen.add(str(kind))
    if {"Approved", "Denied"} <= seen:
        errs.append(invalid("status.conditions", "Approved, Denied",
                            "Approved and Denied conditions are mutually exclusive"))
    return errs


class CertificateSigningRequestStrategy:
    def prepare_update(self, new: Object, old: Object) -> None:
        return None

    def default(self, obj: Object) -> None:
        for condition in (obj.get("status") or {}).get("conditions") or []:
            if isinstance(condition, dict):
                condition.setdefault("status", "True")

    def validate(self, obj: Object) -> list[FieldError]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return [required("spec")]
        return _validate_spec(spec) + validate_conditions(obj.get("status") or {})

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        if new.get("spec") != old.get("spec"):
            return [forbidden("spec", "updates to a certificate signing request's spec are "
                                      "not allowed")]
        return []
