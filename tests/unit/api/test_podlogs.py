"""PodLogOptions parsing and validation, and the RFC 3339 helpers."""

from __future__ import annotations

import pytest

from steersman.api.errors import StatusError
from steersman.api.podlogs import (
    PodLogOptions,
    format_rfc3339_ns,
    parse_rfc3339_ns,
    pod_log_options,
)


def test_times_keep_nanoseconds_and_offsets() -> None:
    ns = parse_rfc3339_ns("2026-11-29T05:30:28.123456789Z")
    assert format_rfc3339_ns(ns) == "2026-11-29T05:30:28.123456789Z"
    assert parse_rfc3339_ns("2026-11-29T07:30:28.5+02:00") == parse_rfc3339_ns(
        "2026-11-29T05:30:28.500Z")
    with pytest.raises(ValueError):
        parse_rfc3339_ns("2026-11-29T05:30:28")


def test_options_from_a_query() -> None:
    assert pod_log_options({"container": "c", "follow": "true", "tailLines": "10",
                            "timestamps": "1", "sinceTime": "2026-01-01T00:00:00Z"}) == (
        PodLogOptions(container="c", follow=True, tail_lines=10, timestamps=True,
                      since_time_ns=parse_rfc3339_ns("2026-01-01T00:00:00Z")))


@pytest.mark.parametrize(("query", "code", "message"), [
    ({"tailLines": "-1"}, 422, "tailLines: Invalid value: -1: must be greater than or equal"),
    ({"limitBytes": "0"}, 422, "limitBytes: Invalid value: 0: must be greater than 0"),
    ({"sinceSeconds": "0"}, 422, "sinceSeconds: Invalid value: 0"),
    ({"sinceSeconds": "5", "sinceTime": "2026-01-01T00:00:00Z"}, 422, "at most one of"),
    ({"tailLines": "x"}, 400, "invalid value for tailLines"),
    ({"sinceTime": "yesterday"}, 400, "invalid value for sinceTime"),
])
def test_invalid_options(query: dict[str, str], code: int, message: str) -> None:
    with pytest.raises(StatusError) as caught:
        pod_log_options(query, name="p")
    assert caught.value.code == code and message in caught.value.message
