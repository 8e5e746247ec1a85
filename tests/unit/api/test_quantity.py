"""Quantities, against the tables of apimachinery's ``pkg/api/resource/quantity_test.go``."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steersman.api.quantity import (
    FORMAT_WRONG,
    SUFFIX_WRONG,
    QuantityError,
    QuantityFormat,
    canonical_quantity,
    format_quantity,
    milli_value,
    parse_quantity,
    value,
)

MAX_INT64 = (1 << 63) - 1
KI, MI, GI, TI, PI, EI = (1 << 10), (1 << 20), (1 << 30), (1 << 40), (1 << 50), (1 << 60)


def dec(number: int, exponent: int) -> Fraction:
    return Fraction(number) * Fraction(10) ** exponent


# TestQuantityParse: the value each spelling stands for (upstream's decQuantity).
PARSE_TABLE = [
    ("0", dec(0, 0)), ("0n", dec(0, 0)), ("0u", dec(0, 0)), ("0m", dec(0, 0)),
    ("0Ki", dec(0, 0)), ("0k", dec(0, 0)), ("0Mi", dec(0, 0)), ("0M", dec(0, 0)),
    ("0Gi", dec(0, 0)), ("0G", dec(0, 0)), ("0Ti", dec(0, 0)), ("0T", dec(0, 0)),
    ("1", dec(1, 0)),
    ("1Ki", dec(KI, 0)), ("8Ki", dec(8 * KI, 0)), ("7Mi", dec(7 * MI, 0)),
    ("6Gi", dec(6 * GI, 0)), ("5Ti", dec(5 * TI, 0)), ("4Pi", dec(4 * PI, 0)),
    ("3Ei", dec(3 * EI, 0)), ("10Ti", dec(10 * TI, 0)), ("100Ti", dec(100 * TI, 0)),
    ("5n", dec(5, -9)), ("4u", dec(4, -6)), ("3m", dec(3, -3)), ("9", dec(9, 0)),
    ("8k", dec(8, 3)), ("50k", dec(5, 4)), ("7M", dec(7, 6)), ("6G", dec(6, 9)),
    ("5T", dec(5, 12)), ("40T", dec(4, 13)), ("300T", dec(3, 14)), ("2P", dec(2, 15)),
    ("1E", dec(1, 18)),
    ("1E-3", dec(1, -3)), ("1e3", dec(1, 3)), ("1E6", dec(1, 6)), ("1e9", dec(1, 9)),
    ("1E12", dec(1, 12)), ("1e15", dec(1, 15)), ("1E18", dec(1, 18)),
    ("1e14", dec(1, 14)), ("1e13", dec(1, 13)), ("100.035k", dec(100035, 0)),
    ("0.001", dec(1, -3)), ("0.0005k", dec(5, -1)), ("0.005", dec(5, -3)),
    ("0.05", dec(5, -2)), ("0.5", dec(5, -1)), ("0.00050k", dec(5, -1)),
    ("0.00500", dec(5, -3)), ("0.05000", dec(5, -2)), ("0.50000", dec(5, -1)),
    ("0.5e0", dec(5, -1)), ("0.5e-1", dec(5, -2)), ("0.5e-2", dec(5, -3)),
    ("10.035M", dec(10035, 3)),
    ("1.2e3", dec(12, 2)), ("1.3E+6", dec(13, 5)), ("1.40e9", dec(14, 8)),
    ("1.53E12", dec(153, 10)), ("1.6e15", dec(16, 14)), ("1.7E18", dec(17, 17)),
    ("9.01", dec(901, -2)), ("8.1k", dec(81, 2)), ("7.123456M", dec(7123456, 0)),
    ("6.987654321G", dec(6987654321, 0)), ("5.444T", dec(5444, 9)), ("40.1T", dec(401, 11)),
    ("300.2T", dec(3002, 11)), ("2.5P", dec(25, 14)), ("1.01E", dec(101, 16)),
    ("3.001n", dec(4, -9)), ("1.1E-9", dec(2, -9)), ("0.0000000001", dec(1, -9)),
    ("0.0000000005", dec(1, -9)), ("0.00000000050", dec(1, -9)), ("0.5e-9", dec(1, -9)),
    ("0.9n", dec(1, -9)), ("0.00000012345", dec(124, -9)), ("0.00000012354", dec(124, -9)),
    ("9Ei", dec(MAX_INT64, 0)), ("9223372036854775807Ki", dec(MAX_INT64, 0)),
    ("12E", dec(12, 18)),
    ("100.035Ki", dec(10243584, -2)), ("0.5Mi", dec(MI // 2, 0)),
    ("0.05Gi", dec(536870912, -1)), ("0.025Ti", dec(274877906944, -1)),
    ("0.000000000001Ki", dec(2, -9)), (".001", dec(1, -3)), (".0001k", dec(100, -3)),
    ("1.", dec(1, 0)), ("1.G", dec(1, 9)),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_TABLE)
def test_parse_quantity(text: str, expected: Fraction) -> None:
    assert parse_quantity(text) == expected
    assert parse_quantity("+" + text) == expected
    assert parse_quantity("-" + text) == -expected


# TestQuantityString: (canonical, another spelling of the same value).
STRING_TABLE = [
    ("1Gi", "1024Mi"), ("300Mi", "307200Ki"), ("6Ki", ""), ("1001Gi", "1025024Mi"),
    ("1Ti", "1024Gi"), ("5", "5000m"), ("500m", "0.5"), ("1G", "1000M"), ("1G", "0.001T"),
    ("1m", "1000u"), ("80m", ""), ("1080m", "1.08"), ("1080m", "1080000000n"),
    ("300M", ""), ("1T", ""), ("1234567M", ""), ("1234567m", ""), ("3k", ""), ("1025", ""),
    ("0", "00"), ("1e9", ".001e12"), ("1e-3", "0.001e0"), ("1e-9", "1000e-12"),
    ("80e-3", ""), ("300e6", ""), ("1e12", ""), ("1e3", ""), ("3e3", ""), ("1n", ""),
    ("80n", ""), ("1080n", ""), ("1u", ""), ("80u", ""), ("1080u", ""),
]


@pytest.mark.parametrize(("canonical", "alternate"), STRING_TABLE)
def test_canonical_quantity_string_table(canonical: str, alternate: str) -> None:
    assert canonical_quantity(canonical) == canonical
    if alternate:
        assert canonical_quantity(alternate) == canonical
        if canonical != "0":
            assert canonical_quantity("-" + alternate) == "-" + canonical


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # TestQuantityParseEmit
        ("1Ki", "1Ki"), ("1Mi", "1Mi"), ("1Gi", "1Gi"), ("1024Mi", "1Gi"), ("1000M", "1G"),
        (".001Ki", "1024m"), (".000001Ki", "1024u"), (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
        ("-1024Mi", "-1Gi"), ("-.001Ki", "-1024m"), ("-.000000000001Ki", "-2n"),
        # what kube-apiserver stores for common inputs
        ("1000m", "1"), ("0.5", "500m"), ("100M", "100M"), ("128974848", "128974848"),
        ("129e6", "129e6"), ("123Mi", "123Mi"), ("1e3", "1e3"), ("100m", "100m"),
        ("250m", "250m"), ("1.5", "1500m"), ("2000m", "2"), ("64Mi", "64Mi"),
        ("512Mi", "512Mi"), ("2048Ki", "2Mi"), ("1.5Gi", "1536Mi"), ("0.5Gi", "512Mi"),
        ("1.1Gi", "1181116006400m"), ("10G", "10G"), ("1000k", "1M"), ("0.1", "100m"),
        ("1.G", "1.G"), ("+1", "+1"), ("9Ei", "9223372036854775807"), ("12E", "12E"),
        ("0.0000000001", "1n"), ("1e-1000", "1e-9"), ("100.035Ki", "102435840m"),
        ("0.000000000001Ki", "2n"), ("1.5k", "1500"), ("15e2", "1500"), ("1.2e3", "1200"),
        ("1.3E+6", "1300e3"), ("10.035M", "10.035M"), ("10.0355M", "10035500"),
        ("0.0005k", "500m"), ("7Ki", "7Ki"),
        ("8Ki", "8Ki"), ("1023", "1023"), ("1024", "1024"), ("  2Gi ", "2Gi"),
        # beyond upstream's suffix table: an exponent rather than upstream's lossy "1"
        ("1000E", "1e21"), ("1000000000000000000000", "1e21"),
    ],
)
def test_canonical_quantity(text: str, expected: str) -> None:
    assert canonical_quantity(text) == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [(1, "1"), (0, "0"), (-1, "-1"), (1024, "1024"), (0.5, "500m"), (1e3, "1k"),
     (2.5, "2500m"), (0.1, "100m"), (1e-9, "1e-09"), (1e-10, "1e-9"), (1e16, "10e15"), (-0.0, "0"),
     (10**20, "100E")],
)
def test_canonical_quantity_of_json_numbers(number: int | float, expected: str) -> None:
    assert canonical_quantity(number) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", FORMAT_WRONG), ("   ", FORMAT_WRONG), ("1.1.M", FORMAT_WRONG),
        ("1+1.0M", FORMAT_WRONG), ("aoeu", FORMAT_WRONG), ("1e3e4", FORMAT_WRONG),
        ("1 Gi", FORMAT_WRONG), ("0x10", FORMAT_WRONG), ("nan", FORMAT_WRONG),
        ("inf", FORMAT_WRONG), ("\uff11", FORMAT_WRONG),
        ("0.1mi", SUFFIX_WRONG), ("0.1am", FORMAT_WRONG), (".5i", SUFFIX_WRONG),
        ("1i", SUFFIX_WRONG), ("-3.01i", SUFFIX_WRONG), ("-3.01e-", SUFFIX_WRONG),
        ("1e", SUFFIX_WRONG), ("1Ki5", SUFFIX_WRONG), ("1KiB", FORMAT_WRONG),
        ("1e1001", SUFFIX_WRONG),
    ],
)
def test_parse_quantity_errors(text: str, message: str) -> None:
    with pytest.raises(QuantityError) as caught:
        parse_quantity(text)
    assert str(caught.value) == message


def test_error_message_is_upstreams() -> None:
    assert FORMAT_WRONG == (
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )


@pytest.mark.parametrize("bad", [True, False, float("nan"), float("inf"), None])
def test_non_quantity_values_are_rejected(bad: object) -> None:
    with pytest.raises(QuantityError):
        canonical_quantity(bad)  # type: ignore[arg-type]


def test_overlong_number_is_rejected_cleanly() -> None:
    with pytest.raises(QuantityError, match="numeric part"):
        parse_quantity("0." + "1" * 5000)


@pytest.mark.parametrize(
    ("text", "milli", "whole"),
    [
        ("1", 1000, 1), ("1m", 1, 1), ("1n", 1, 1), ("1u", 1, 1), ("1500m", 1500, 2),
        ("0.1", 100, 1), ("100m", 100, 1), ("1Ki", 1024000, 1024), ("0", 0, 0),
        ("1k", 1_000_000, 1000), ("-1.5", -1500, -2), ("-1n", -1, -1), ("1e-3", 1, 1),
        ("1.0001m", 2, 1), ("9Ei", MAX_INT64 * 1000, MAX_INT64),
    ],
)
def test_milli_value_and_value_round_away_from_zero(text: str, milli: int, whole: int) -> None:
    assert milli_value(text) == milli
    assert value(text) == whole
    assert milli_value(parse_quantity(text)) == milli


@pytest.mark.parametrize(
    ("amount", "fmt", "expected"),
    [
        # TestMilliNewSet
        (Fraction(1, 1000), QuantityFormat.DECIMAL_SI, "1m"),
        (Fraction(1000, 1000), QuantityFormat.DECIMAL_SI, "1"),
        (Fraction(1234000, 1000), QuantityFormat.DECIMAL_SI, "1234"),
        (Fraction(1024, 1000), QuantityFormat.BINARY_SI, "1024m"),
        (Fraction(1000000, 1000), QuantityFormat.DECIMAL_EXPONENT, "1e3"),
        (Fraction(1024 * 1024, 1000), QuantityFormat.BINARY_SI, "1048576m"),
        # TestNewSet
        (1, QuantityFormat.DECIMAL_SI, "1"),
        (1000, QuantityFormat.DECIMAL_SI, "1k"),
        (1234000, QuantityFormat.DECIMAL_SI, "1234k"),
        (1024, QuantityFormat.BINARY_SI, "1Ki"),
        (1000000, QuantityFormat.DECIMAL_EXPONENT, "1e6"),
        (1024 * 1024, QuantityFormat.BINARY_SI, "1Mi"),
        # TestNewScaledSet
        (dec(1, -9), QuantityFormat.DECIMAL_SI, "1n"),
        (dec(1000, -9), QuantityFormat.DECIMAL_SI, "1u"),
        (dec(1000, -6), QuantityFormat.DECIMAL_SI, "1m"),
        (dec(0, -9), QuantityFormat.DECIMAL_SI, "0"),
        # TestQuantityNeg and sums a scheduler prints
        (dec(-901, -2), QuantityFormat.DECIMAL_SI, "-9010m"),
        (16318356 * KI, QuantityFormat.BINARY_SI, "16318356Ki"),
        (Fraction(1, 3), QuantityFormat.DECIMAL_SI, "333333334n"),
        (1 << 70, QuantityFormat.BINARY_SI, "1180591620717411303424"),
        (MAX_INT64 + 1, QuantityFormat.BINARY_SI, "9223372036854775808"),
    ],
)
def test_format_quantity(amount: Fraction | int, fmt: QuantityFormat, expected: str) -> None:
    assert format_quantity(amount, format=fmt) == expected


# -- properties ----------------------------------------------------------------------------

SUFFIXES = ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi",
            "Ei", "e3", "E-3", "e+6", "e0", "e-12", "e21", "E40"]


@st.composite
def quantity_texts(draw: st.DrawFn) -> str:
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.from_regex(r"[0-9]{0,20}", fullmatch=True))
    fraction = draw(st.one_of(st.just(None), st.from_regex(r"[0-9]{0,12}", fullmatch=True)))
    suffix = draw(st.sampled_from(SUFFIXES))
    number = whole if fraction is None else f"{whole}.{fraction}"
    return f"{sign}{number or '0'}{suffix}"


@given(quantity_texts())
def test_canonical_is_idempotent_and_keeps_the_value(text: str) -> None:
    canonical = canonical_quantity(text)
    assert canonical_quantity(canonical) == canonical
    assert parse_quantity(canonical) == parse_quantity(text)


@given(quantity_texts(), st.sampled_from(list(QuantityFormat)))
def test_format_quantity_round_trips(text: str, fmt: QuantityFormat) -> None:
    amount = parse_quantity(text)
    assert parse_quantity(format_quantity(amount, format=fmt)) == amount


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_integers_keep_their_value(number: int) -> None:
    assert parse_quantity(canonical_quantity(number)) == number


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
def test_floats_round_up_to_nano(number: float) -> None:
    exact = Fraction(repr(number))
    assert abs(parse_quantity(canonical_quantity(number)) - exact) < Fraction(1, 10**9)
