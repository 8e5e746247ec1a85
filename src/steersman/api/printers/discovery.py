"""discovery.k8s.io/v1 rows: EndpointSlice (address type, ports, endpoint addresses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import UNSET, age, items, mapping, name_of, text, with_more
from steersman.api.printers.columns import AGE, NAME, Printer, api, col


def _endpoint_slice(obj: Mapping[str, Any], now: float) -> list[Any]:
    ports = [_port(port) for port in items(obj, "ports")]
    addresses = [str(a) for e in items(obj, "endpoints") for a in items(e, "addresses")]
    return [
        name_of(obj), text(obj, "addressType"), _list(ports), _list(addresses), age(obj, now),
    ]


def _port(port: Any) -> str:
    fields = mapping(port)
    if fields.get("port") is not None:
        return str(fields["port"])
    if fields.get("name") is not None:
        return str(fields["name"])
    return "*"


def _list(values: list[str]) -> str:
    """``listWithMoreString``: ``<unset>`` for an empty list."""
    return with_more(values, len(values)) or UNSET


_COLUMNS = (
    NAME,
    col("AddressType", api("discovery.v1.EndpointSlice", "addressType")),
    col("Ports", api("discovery.v1.EndpointSlice", "ports")),
    col("Endpoints", api("discovery.v1.EndpointSlice", "endpoints")),
    AGE,
)

PRINTERS = {"EndpointSlice": Printer(_COLUMNS, _endpoint_slice)}
