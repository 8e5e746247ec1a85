"""Event rows (``printEvent``), for core/v1 and events.k8s.io/v1 alike.

kube-apiserver serves both versions from one storage, so both print the same columns;
an events.k8s.io object is read through the core field names it converts to
(``regarding`` is ``involvedObject``, ``note`` is ``message``, ``deprecated*`` the rest).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import dig, mapping, name_of, number, parse_time, since, text
from steersman.api.printers.columns import NAME, WIDE, Printer, api, col

_EVENTS_V1_TO_CORE = {
    "regarding": "involvedObject", "note": "message", "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp", "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count", "reportingController": "reportingComponent",
}


def core_event_cells(event: Mapping[str, Any], now: float) -> list[Any]:
    first_seen = _first_seen(event, now)
    last_seen = first_seen
    if parse_time(event.get("lastTimestamp")) is not None:
        last_seen = since(event["lastTimestamp"], now)
    count = number(event, "count")
    series = event.get("series")
    if series is not None:
        last_seen = since(dig(series, "lastObservedTime"), now)
        count = number(series, "count")
    elif count == 0:
        count = 1  # singleton events of the events.k8s.io API carry no count
    source = mapping(event, "source")
    return [
        last_seen, text(event, "type"), text(event, "reason"), _target(event),
        text(event, "involvedObject", "fieldPath"),
        _source(text(source, "component") or text(event, "reportingComponent"),
                text(source, "host") or text(event, "reportingInstance")),
        text(event, "message").strip(), first_seen, count, name_of(event),
    ]


def events_v1_cells(event: Mapping[str, Any], now: float) -> list[Any]:
    core = {_EVENTS_V1_TO_CORE.get(key, key): value for key, value in event.items()}
    return core_event_cells(core, now)


def _first_seen(event: Mapping[str, Any], now: float) -> str:
    if parse_time(event.get("firstTimestamp")) is not None:
        return since(event["firstTimestamp"], now)
    return since(event.get("eventTime"), now)


def _target(event: Mapping[str, Any]) -> str:
    kind = text(event, "involvedObject", "kind").lower()
    name = text(event, "involvedObject", "name")
    return f"{kind}/{name}" if name else kind


def _source(component: str, instance: str) -> str:
    return f"{component}, {instance}" if instance else component


_COLUMNS = (
    col("Last Seen", api("core.v1.Event", "lastTimestamp")),
    col("Type", api("core.v1.Event", "type")),
    col("Reason", api("core.v1.Event", "reason")),
    col("Object", api("core.v1.Event", "involvedObject")),
    col("Subobject", api("core.v1.ObjectReference", "fieldPath"), priority=WIDE),
    col("Source", api("core.v1.Event", "source"), priority=WIDE),
    col("Message", api("core.v1.Event", "message")),
    col("First Seen", api("core.v1.Event", "firstTimestamp"), priority=WIDE),
    col("Count", api("core.v1.Event", "count"), priority=WIDE),
    col("Name", NAME.description, priority=WIDE, format="name"),
)

CORE_PRINTERS = {"Event": Printer(_COLUMNS, core_event_cells)}
EVENTS_PRINTERS = {"Event": Printer(_COLUMNS, events_v1_cells)}
