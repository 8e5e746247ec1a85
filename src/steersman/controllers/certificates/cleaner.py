"""The CSR cleaner: delete certificate signing requests once nobody needs them.

kube-controller-manager's ``csrcleaner`` rules: a request that was issued or denied or that
failed goes an hour after it was decided (a node fetches its certificate within seconds);
one still pending goes after a day; one whose issued certificate has expired goes at once.
Without it every join and renewal would leave an object behind forever. Reconcile by name:
the answer is either "delete now" or "look again when it expires".
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from cryptography import x509

from steersman.api.errors import StatusError
from steersman.api.meta import parse_time
from steersman.client import Client, Clock
from steersman.controllers.certificates import requests as req
from steersman.controllers.runtime import InformerFactory, QueueController

DECIDED_TTL = 3600.0
PENDING_TTL = 24 * 3600.0


def _seconds(text: Any) -> float | None:
    try:
        return parse_time(str(text)).timestamp() if text else None
    except ValueError:
        return None


def _certificate_expiry(obj: Mapping[str, Any]) -> float | None:
    try:
        pem = base64.b64decode(str((obj.get("status") or {}).get("certificate") or ""))
        return x509.load_pem_x509_certificate(pem).not_valid_after_utc.timestamp()
    except ValueError:
        return None


def _decided_at(obj: Mapping[str, Any]) -> float | None:
    """When the request was approved, denied or failed (latest stamp); None if pending."""
    stamps = [_seconds(c.get("lastUpdateTime") or c.get("lastTransitionTime"))
              for c in (obj.get("status") or {}).get("conditions") or []
              if c.get("type") in ("Approved", "Denied", "Failed")]
    known = [s for s in stamps if s is not None]
    if known:
        return max(known)
    return None if not stamps else _seconds(obj["metadata"].get("creationTimestamp"))


def expires_at(obj: Mapping[str, Any]) -> float | None:
    """When ``obj`` may be deleted; None when that cannot be told (no timestamps)."""
    created = _seconds(obj["metadata"].get("creationTimestamp"))
    decided = _decided_at(obj)
    moments = [] if decided is None else [decided + DECIDED_TTL]
    if decided is None and created is not None:
        moments.append(created + PENDING_TTL)
    if req.issued(obj):
        certificate_end = _certificate_expiry(obj)
        if certificate_end is not None:
            moments.append(certificate_end)
    return min(moments, default=None)


class CSRCleanerController(QueueController):
    name = "csrcleaner"

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)

    def setup(self, factory: InformerFactory) -> None:
        self._csrs = factory.informer(req.CSRS)
        self._csrs.add_handlers(on_add=self.enqueue, on_update=lambda _, new: self.enqueue(new))

    async def reconcile(self, key: str) -> float | None:
        obj = self._csrs.indexer.get(key)
        if obj is None:
            return None
        deadline = expires_at(obj)
        if deadline is None:
            return None
        left = deadline - self.clock.now()
        if left > 0:
            return left
        try:
            await self.client.delete(req.CSRS, obj["metadata"]["name"],
                                     preconditions={"uid": obj["metadata"]["uid"]})
        except StatusError as err:
            if err.code not in (404, 409):
                raise
        return None
