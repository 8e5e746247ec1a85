"""certificates.k8s.io/v1 rows: CertificateSigningRequest, as ``kubectl get csr`` prints it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.meta import human_duration
from steersman.api.printers.cells import age, items, name_of, text
from steersman.api.printers.columns import AGE, NAME, Printer, api, col

_SPEC = "certificates.v1.CertificateSigningRequestSpec"


def csr_condition(obj: Mapping[str, Any]) -> str:
    """``Pending``, ``Approved,Issued``, ``Denied``, ``Approved,Failed``… in kubectl's order."""
    kinds = {c.get("type") for c in items(obj, "status", "conditions") if isinstance(c, dict)}
    status = "Denied" if "Denied" in kinds else "Approved" if "Approved" in kinds else "Pending"
    if "Failed" in kinds:
        status += ",Failed"
    if text(obj, "status", "certificate"):
        status += ",Issued"
    return status


def _duration(obj: Mapping[str, Any]) -> str:
    seconds = (obj.get("spec") or {}).get("expirationSeconds")
    return human_duration(seconds) if isinstance(seconds, int) else "<none>"


def _csr(obj: Mapping[str, Any], now: float) -> list[Any]:
    return [name_of(obj), age(obj, now), text(obj, "spec", "signerName") or "<none>",
            text(obj, "spec", "username"), _duration(obj), csr_condition(obj)]


PRINTERS = {
    "CertificateSigningRequest": Printer((
        NAME, AGE, col("SignerName", api(_SPEC, "signerName")),
        col("Requestor", api(_SPEC, "request")),
        col("RequestedDuration", api(_SPEC, "expirationSeconds")),
        col("Condition", api("certificates.v1.CertificateSigningRequestStatus", "conditions")),
    ), _csr),
}
