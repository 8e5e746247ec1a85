"""coordination.k8s.io/v1 rows: Lease and its holder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import age, name_of, text
from steersman.api.printers.columns import AGE, NAME, Printer, api, col


def _lease(obj: Mapping[str, Any], now: float) -> list[Any]:
    return [name_of(obj), text(obj, "spec", "holderIdentity"), age(obj, now)]


PRINTERS = {
    "Lease": Printer(
        (NAME, col("Holder", api("coordination.v1.LeaseSpec", "holderIdentity")), AGE), _lease),
}
