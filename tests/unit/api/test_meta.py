"""Timestamps, ages and name rules, against apimachinery's own test tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steersman.api.meta import (
    canonical_micro_time,
    canonical_time,
    human_duration,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_label_value,
    micro_time,
    now_rfc3339,
    parse_time,
)

CLOCK = 1795930228.123456  # 2026-11-29T05:30:28.123456Z
SECOND, MINUTE, HOUR, DAY, YEAR = 1, 60, 3600, 86400, 365 * 86400
MS = 0.001

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    r"used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
NAME_PART_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
    "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


# -- timestamps ----------------------------------------------------------------------------


def test_now_rfc3339_truncates_to_seconds() -> None:
    assert now_rfc3339(CLOCK) == "2026-11-29T05:30:28Z"
    assert now_rfc3339(0) == "1970-01-01T00:00:00Z"


def test_micro_time_has_six_digits() -> None:
    assert micro_time(CLOCK) == "2026-11-29T05:30:28.123456Z"
    assert micro_time(1795930228) == "2026-11-29T05:30:28.000000Z"


def test_seconds_and_micro_forms_agree_at_a_boundary() -> None:
    almost = 1795930228.9999999
    assert micro_time(almost) == "2026-11-29T05:30:29.000000Z"
    assert now_rfc3339(almost) == "2026-11-29T05:30:29Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-29T05:30:28Z", "2026-11-29T05:30:28Z"),
        ("2026-11-29T05:38:42.123456+00:00", "2026-11-29T05:38:42Z"),
        ("2026-11-29T07:38:42.9+02:00", "2026-11-29T05:38:42Z"),
        ("2026-11-28T23:08:42-06:30", "2026-11-29T05:38:42Z"),
        ("2026-11-29t05:38:42z", "2026-11-29T05:38:42Z"),
        ("2026-11-29T05:38:42.123456789Z", "2026-11-29T05:38:42Z"),
    ],
)
def test_canonical_time(text: str, expected: str) -> None:
    assert canonical_time(text) == expected


def test_canonical_micro_time() -> None:
    assert canonical_micro_time("2026-11-29T07:38:42.1234567+02:00") == (
        "2026-11-29T05:38:42.123456Z"
    )
    assert canonical_micro_time("2026-11-29T05:38:42Z") == "2026-11-29T05:38:42.000000Z"


def test_parse_time_is_aware_utc() -> None:
    parsed = parse_time("2026-11-29T05:38:42.5+01:00")
    assert parsed == datetime(2026, 11, 29, 4, 38, 42, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-11-29",
        "2026-11-29 05:38:42Z",
        "2026-11-29T05:38:42",
        "2026-13-29T05:38:42Z",
        "2026-11-29T24:00:00Z",
        "2026-11-29T05:38:60Z",
        "2026-11-29T05:38:42+24:00",
        "2026-11-29T05:38:42.Z",
        "2026-11-29T05:38:42Z ",
        "\uff12\uff10\uff12\uff16-11-29T05:38:42Z",
    ],
)
def test_parse_time_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="parsing time"):
        parse_time(text)


@given(st.integers(min_value=0, max_value=4_000_000_000_000_000))
def test_micro_time_round_trips(micros: int) -> None:
    text = micro_time(micros / 1_000_000)
    assert canonical_micro_time(text) == text
    assert canonical_time(text) == now_rfc3339(micros // 1_000_000)


# -- ages: pkg/util/duration TestHumanDuration and TestHumanDurationBoundaries -----------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (SECOND, "1s"),
        (70 * SECOND, "70s"),
        (190 * SECOND, "3m10s"),
        (70 * MINUTE, "70m"),
        (47 * HOUR, "47h"),
        (49 * HOUR, "2d1h"),
        ((8 * 24 + 2) * HOUR, "8d"),
        (367 * DAY, "367d"),
        (2 * YEAR + 25 * HOUR, "2y1d"),
        (8 * YEAR + 2 * HOUR, "8y"),
        (-2 * SECOND, "<invalid>"),
        (-2 * SECOND + 1e-9, "0s"),
        (0, "0s"),
        (SECOND - MS, "0s"),
        (2 * MINUTE - MS, "119s"),
        (2 * MINUTE, "2m"),
        (2 * MINUTE + SECOND, "2m1s"),
        (10 * MINUTE - MS, "9m59s"),
        (10 * MINUTE, "10m"),
        (10 * MINUTE + SECOND, "10m"),
        (3 * HOUR - MS, "179m"),
        (3 * HOUR, "3h"),
        (3 * HOUR + MINUTE, "3h1m"),
        (8 * HOUR - MS, "7h59m"),
        (8 * HOUR, "8h"),
        (8 * HOUR + 59 * MINUTE, "8h"),
        (2 * DAY - MS, "47h"),
        (2 * DAY, "2d"),
        (2 * DAY + HOUR, "2d1h"),
        (8 * DAY - MS, "7d23h"),
        (8 * DAY, "8d"),
        (8 * DAY + 23 * HOUR, "8d"),
        (2 * YEAR - MS, "729d"),
        (2 * YEAR, "2y"),
        (2 * YEAR + 23 * HOUR, "2y"),
        (2 * YEAR + 23 * HOUR + 59 * MINUTE, "2y"),
        (2 * YEAR + DAY - MS, "2y"),
        (2 * YEAR + DAY, "2y1d"),
        (3 * YEAR, "3y"),
        (7 * YEAR, "7y"),
        (8 * YEAR - MS, "7y364d"),
        (8 * YEAR, "8y"),
        (8 * YEAR + 364 * DAY, "8y"),
        (9 * YEAR, "9y"),
    ],
)
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


# -- names: pkg/util/validation/validation_test.go ---------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2",
     "a" * 63],
)
def test_dns1123_label_good(name: str) -> None:
    assert is_dns1123_label(name) == []


@pytest.mark.parametrize(
    "name",
    ["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a",
     "a_b", "1_", "_1", "1_2", "a@b", "a,b", "a;b", "a:b", "a%b", "a?b", "a$b"],
)
def test_dns1123_label_bad(name: str) -> None:
    assert is_dns1123_label(name) == [LABEL_MSG]


def test_dns1123_label_too_long_and_dots() -> None:
    assert is_dns1123_label("a" * 64) == ["must be no more than 63 bytes"]
    assert is_dns1123_label("a.b") == ["must not contain dots"]


@pytest.mark.parametrize(
    "name",
    ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2",
     "a.a", "ab.a", "abc.a", "a1.a", "a-1.a", "a--1--2--b.a", "a.1", "ab.1", "0.a", "01.a",
     "012.a", "1a.a", "1-a.a", "1--a--b--2", "0.1", "01.1", "012.1", "1a.1", "1-a.1",
     "a.b.c.d.e", "aa.bb.cc.dd.ee", "1.2.3.4.5", "11.22.33.44.55", "a" * 253],
)
def test_dns1123_subdomain_good(name: str) -> None:
    assert is_dns1123_subdomain(name) == []


@pytest.mark.parametrize(
    "name",
    ["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a",
     "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a..b", "1.", ".1", "1..2", " ", "a ", " a",
     "a b", "1 ", " 1", "1 2", "A.a", "aB.a", "ab.A", "A1.a", "a1.A", "A.1", "aB.1", "A1.1",
     "1A.1", "0.A", "01.A", "012.A", "1A.a", "1a.A", "A.B.C.D.E", "AA.BB.CC.DD.EE", "a.B.c.d.e",
     "aa.bB.cc.dd.ee", "a@b", "a,b", "a_b", "a;b", "a:b", "a%b", "a?b", "a$b"],
)
def test_dns1123_subdomain_bad(name: str) -> None:
    assert is_dns1123_subdomain(name) == [SUBDOMAIN_MSG]


def test_dns1123_subdomain_too_long() -> None:
    assert is_dns1123_subdomain("a" * 254) == ["must be no more than 253 bytes"]


@pytest.mark.parametrize(
    "name", ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "a" * 63]
)
def test_dns1035_label_good(name: str) -> None:
    assert is_dns1035_label(name) == []


@pytest.mark.parametrize(
    "name",
    ["0", "01", "012", "1a", "1-a", "1--a--b--2", "", "A", "ABC", "aBc", "A1", "A-1", "1-A",
     "-", "a-", "-a", "1-", "-1", "_", "a_", "_a", "a_b", "1_", "_1", "1_2", "a.b", "a@b"],
)
def test_dns1035_label_bad(name: str) -> None:
    assert is_dns1035_label(name) == [DNS1035_MSG]


def test_dns1035_label_too_long() -> None:
    assert is_dns1035_label("a" * 64) == ["must be no more than 63 bytes"]


@pytest.mark.parametrize(
    "name",
    ["simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple",
     "now-with-dashes/simple", "now-with-dashes/now-with-dashes", "now.with.dots/simple",
     "now-with.dashes-and.dots/simple", "1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678",
     "Uppercase_Is_OK_123", "example.com/Uppercase_Is_OK_123", "requests.storage-foo",
     "a" * 63, "a" * 253 + "/" + "b" * 63],
)
def test_qualified_name_good(name: str) -> None:
    assert is_qualified_name(name) == []


@pytest.mark.parametrize(
    "name",
    ["nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-", "only/one/slash",
     "Example.com/abc", "example_com/abc", "example.com/", "/simple", "a" * 64,
     "a" * 254 + "/abc"],
)
def test_qualified_name_bad(name: str) -> None:
    assert is_qualified_name(name) != []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a b", [NAME_PART_MSG]),
        ("/simple", ["prefix part must be non-empty"]),
        ("example.com/", ["name part must be non-empty", NAME_PART_MSG]),
        ("a" * 64, ["name part must be no more than 63 bytes"]),
        ("Example.com/abc", ["prefix part " + SUBDOMAIN_MSG]),
        (
            "only/one/slash",
            [
                "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and "
                "must start and end with an alphanumeric character (e.g. 'MyName',  or "
                "'my.name',  or '123-abc', regex used for validation is "
                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
                "prefix and '/' (e.g. 'example.com/MyName')"
            ],
        ),
    ],
)
def test_qualified_name_messages(name: str, expected: list[str]) -> None:
    assert is_qualified_name(name) == expected


@pytest.mark.parametrize(
    "value",
    ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234",
     "A.B_C-d", "a" * 63, ""],
)
def test_label_value_good(value: str) -> None:
    assert is_valid_label_value(value) == []


@pytest.mark.parametrize(
    "value",
    ["nospecialchars%^=@", "Tama-nui-te-rā.is.Māori.sun", "\\backslashes\\are\\bad",
     "-starts-with-dash", "ends-with-dash-", ".starts.with.dot", "ends.with.dot.", "a b"],
)
def test_label_value_bad(value: str) -> None:
    assert is_valid_label_value(value) == [VALUE_MSG]


def test_label_value_counts_bytes() -> None:
    assert is_valid_label_value("a" * 64) == ["must be no more than 63 bytes"]
    assert is_valid_label_value("ā" * 32) == ["must be no more than 63 bytes", VALUE_MSG]
