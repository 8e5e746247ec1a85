"""Resource quantities (``cpu: 500m``, ``memory: 1Gi``) as kubernetes/apimachinery reads them.

Contract, mirroring ``pkg/api/resource/quantity.go``:

* :func:`parse_quantity` gives the exact value, rounded away from zero to 1n as upstream
  does; binary-SI values are capped at 2^63-1.
* :func:`canonical_quantity` gives the string kube-apiserver stores for what a client sent.
  Upstream keeps the client's text when it is already short and exact (``100m``,
  ``123Mi``, ``129e6``) and otherwise prints ``Quantity.String()`` (``1000m`` -> ``1``,
  ``1024Mi`` -> ``1Gi``). JSON numbers are accepted because clients send ``cpu: 1``; a float
  is read through its shortest ``repr``, so ``1e3`` (float) becomes ``1k``.
* :func:`milli_value` and :func:`value` round away from zero, as ``MilliValue``/``Value``.

Values are kept as a decimal coefficient and exponent (like ``inf.Dec``) so absurd
exponents cost nothing until a caller asks for the number. Every write of a pod parses a
dozen quantities, nearly always the same few strings, so results for strings are cached.

Deliberate differences: upstream prints a decimal-SI value beyond ``E`` (``1000E``) with no
suffix at all, silently changing it; here such values fall back to ``1e21``. Exponents
beyond ±1000 (Go wraps them at 2^31; no resource means them, and exact arithmetic on them
would be costly) and numbers too long for Python's int parsing are rejected.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from fractions import Fraction

QuantityInput = str | int | float


class QuantityError(ValueError):
    """A string that is not a quantity; the message is upstream's."""


_SPLIT_RE = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
FORMAT_WRONG = f"quantities must match the regular expression '{_SPLIT_RE}'"
NUMERIC_WRONG = "unable to parse numeric part of quantity"
SUFFIX_WRONG = "unable to parse quantity's suffix"

_SHAPE = re.compile(r"([+-]?)(0*)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)")
_EXPONENT = re.compile(r"[eE]([+-]?[0-9]+)")
_MAX_INT64 = (1 << 63) - 1
_MAX_EXPONENT = 1000
_NANO = -9
_FAST_PATH_DIGITS = 18
_CACHED_STRINGS = 4096


class QuantityFormat(enum.StrEnum):
    """How a quantity prints: ``1e3`` (exponent), ``1Ki`` (binary SI) or ``1k`` (decimal SI)."""

    DECIMAL_EXPONENT = "DecimalExponent"
    BINARY_SI = "BinarySI"
    DECIMAL_SI = "DecimalSI"


_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12,
                     "P": 15, "E": 18}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXPONENT = {exponent: suffix for suffix, exponent in _DECIMAL_SUFFIXES.items()}
_BINARY_BY_POWER = {power // 10: suffix for suffix, power in _BINARY_SUFFIXES.items()}


@dataclass(frozen=True, slots=True)
class _Decimal:
    """``coefficient * 10**exponent``: exact, and cheap for any exponent."""

    coefficient: int
    exponent: int

    def to_fraction(self) -> Fraction:
        if self.exponent >= 0:
            return Fraction(self.coefficient * 10**self.exponent)
        return Fraction(self.coefficient, 10**-self.exponent)


@dataclass(frozen=True, slots=True)
class _Parsed:
    amount: _Decimal
    format: QuantityFormat
    text: str | None  # the client's own spelling, kept when upstream keeps it


@dataclass(frozen=True, slots=True)
class _Pieces:
    negative: bool
    num: str
    denom: str
    suffix: str


def parse_quantity(s: QuantityInput) -> Fraction:
    """The value of a quantity, exactly as upstream holds it (rounded to 1n)."""
    if type(s) is str:
        return _string_value(s)
    return _parse(s).amount.to_fraction()


def canonical_quantity(value: QuantityInput) -> str:
    """The string kube-apiserver stores for this quantity."""
    if type(value) is str:
        return _canonical_string(value)
    return _canonical_of(_parse(value))


# Only exact ``str`` inputs are cached: numbers that compare equal (0.0 and -0.0, 1 and
# 1.0) can spell differently. Errors are raised again on every call, never cached.
@functools.lru_cache(maxsize=_CACHED_STRINGS)
def _string_value(text: str) -> Fraction:
    return _parse(text).amount.to_fraction()


@functools.lru_cache(maxsize=_CACHED_STRINGS)
def _canonical_string(text: str) -> str:
    return _canonical_of(_parse(text))


def _canonical_of(parsed: _Parsed) -> str:
    if parsed.text is not None:
        return parsed.text
    return _canonical(parsed.amount, parsed.format)


def format_quantity(
    amount: Fraction | int, *, format: QuantityFormat = QuantityFormat.DECIMAL_SI
) -> str:
    """Print a computed amount (a sum of requests, a node's memory) in canonical form."""
    exact = Fraction(amount)
    scaled = exact * 10**-_NANO
    coefficient = _round_away(scaled.numerator, scaled.denominator)
    if format is QuantityFormat.BINARY_SI and abs(exact) > _MAX_INT64:
        format = QuantityFormat.DECIMAL_SI  # binary SI text this large would parse capped
    return _canonical(_Decimal(coefficient, _NANO), format)


def milli_value(q: QuantityInput | Fraction) -> int:
    """The value in thousandths, rounded away from zero (``MilliValue``)."""
    return _scaled_value(q, 1000)


def value(q: QuantityInput | Fraction) -> int:
    """The value as a whole number, rounded away from zero (``Value``)."""
    return _scaled_value(q, 1)


def _scaled_value(q: QuantityInput | Fraction, factor: int) -> int:
    amount = q if isinstance(q, Fraction) else parse_quantity(q)
    scaled = amount * factor
    return _round_away(scaled.numerator, scaled.denominator)


def _round_away(numerator: int, denominator: int) -> int:
    whole, rest = divmod(abs(numerator), denominator)
    magnitude = whole + (1 if rest else 0)
    return -magnitude if numerator < 0 else magnitude


# -- parsing -------------------------------------------------------------------------------


def _as_text(raw: QuantityInput) -> str:
    if isinstance(raw, bool):
        raise QuantityError(FORMAT_WRONG)
    if isinstance(raw, float):
        return repr(raw)
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, str):
        # UnmarshalJSON trims; ParseQuantity itself is stricter, but JSON is what we read.
        return raw.strip()
    raise QuantityError(FORMAT_WRONG)


def _parse(raw: QuantityInput) -> _Parsed:
    text = _as_text(raw)
    if not text:
        raise QuantityError(FORMAT_WRONG)
    if text == "0":
        return _Parsed(_Decimal(0, 0), QuantityFormat.DECIMAL_SI, text)
    pieces = _split(text)
    base, exponent, fmt = _interpret(pieces.suffix)
    fast = _fast_path(text, pieces, base, exponent, fmt)
    if fast is not None:
        return fast
    return _slow_path(pieces, base, exponent, fmt)


def _split(text: str) -> _Pieces:
    found = _SHAPE.fullmatch(text)
    if found is None:
        raise QuantityError(FORMAT_WRONG)
    sign, _zeros, num, denom, suffix = found.groups()
    return _Pieces(sign == "-", num or "0", denom or "", suffix)


def _interpret(suffix: str) -> tuple[int, int, QuantityFormat]:
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], QuantityFormat.DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], QuantityFormat.BINARY_SI
    found = _EXPONENT.fullmatch(suffix)
    if found is None or abs(int(found.group(1))) > _MAX_EXPONENT:
        raise QuantityError(SUFFIX_WRONG)
    return 10, int(found.group(1)), QuantityFormat.DECIMAL_EXPONENT


def _digits(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # longer than Python's int-from-str limit
        raise QuantityError(NUMERIC_WRONG) from None


def _fast_path(
    text: str, pieces: _Pieces, base: int, exponent: int, fmt: QuantityFormat
) -> _Parsed | None:
    """Upstream's int64 path; it decides whether the client's spelling is kept."""
    if base == 2:
        if pieces.denom:
            return None
        precision = 15 - len(pieces.num) - int(exponent * 3 / 10) - 1
        multiplier, scale = 1 << exponent, 0
    else:
        precision = _FAST_PATH_DIGITS - len(pieces.num) - len(pieces.denom)
        multiplier, scale = 1, exponent - len(pieces.denom)
    if precision < 0 or scale < _NANO:
        return None
    shifted = pieces.num + pieces.denom
    number = int(shifted)
    if number * multiplier > _MAX_INT64:
        return None
    signed = -number * multiplier if pieces.negative else number * multiplier
    keep = _keeps_spelling(shifted, number, scale, fmt)
    return _Parsed(_Decimal(signed, scale), fmt, text if keep else None)


def _keeps_spelling(shifted: str, number: int, scale: int, fmt: QuantityFormat) -> bool:
    if fmt is QuantityFormat.BINARY_SI:
        return number & 0x07 != 0
    return scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"


def _slow_path(pieces: _Pieces, base: int, exponent: int, fmt: QuantityFormat) -> _Parsed:
    """Upstream's ``inf.Dec`` path: round away from zero to 1n, cap binary SI at int64."""
    coefficient = _digits(pieces.num + pieces.denom)
    scale = -len(pieces.denom)
    if base == 10:
        scale += exponent
    else:
        coefficient <<= exponent
    magnitude = _round_to_nano(_Decimal(coefficient, scale))
    if fmt is QuantityFormat.BINARY_SI:
        fraction = magnitude.to_fraction()
        if fraction > _MAX_INT64:
            magnitude = _Decimal(_MAX_INT64, 0)
        elif 0 < fraction < 1:
            fmt = QuantityFormat.DECIMAL_SI
    if pieces.negative:
        magnitude = _Decimal(-magnitude.coefficient, magnitude.exponent)
    return _Parsed(magnitude, fmt, None)


def _round_to_nano(amount: _Decimal) -> _Decimal:
    if amount.exponent >= _NANO or amount.coefficient == 0:
        return amount
    shift = _NANO - amount.exponent
    if shift > len(str(amount.coefficient)):
        return _Decimal(1, _NANO)  # far below 1n: rounds up to exactly 1n
    return _Decimal(_round_away(amount.coefficient, 10**shift), _NANO)


# -- printing ------------------------------------------------------------------------------


def _canonical(amount: _Decimal, fmt: QuantityFormat) -> str:
    if amount.coefficient == 0:
        return "0"
    if fmt is QuantityFormat.BINARY_SI:
        binary = _binary_form(amount)
        if binary is not None:
            return binary
        fmt = QuantityFormat.DECIMAL_SI
    coefficient, exponent = _strip_factors(amount.coefficient, 10)
    exponent += amount.exponent
    remainder = exponent % 3
    coefficient, exponent = coefficient * 10**remainder, exponent - remainder
    if fmt is QuantityFormat.DECIMAL_SI and exponent in _DECIMAL_BY_EXPONENT:
        return f"{coefficient}{_DECIMAL_BY_EXPONENT[exponent]}"
    return f"{coefficient}e{exponent}" if exponent else str(coefficient)


def _binary_form(amount: _Decimal) -> str | None:
    """``1Ki``-style text, or None where upstream falls back to decimal SI."""
    fraction = amount.to_fraction()
    if -1024 < fraction < 1024 or fraction.denominator != 1:
        return None
    coefficient, powers = _strip_factors(fraction.numerator, 1024)
    return f"{coefficient}{_BINARY_BY_POWER.get(powers, '')}"


def _strip_factors(number: int, factor: int) -> tuple[int, int]:
    times = 0
    while number % factor == 0:
        number //= factor
        times += 1
    return number, times
