"""``PodLogOptions`` from a ``pods/log`` query, validated as kube-apiserver does.

Shared by the API server (which rejects bad options before proxying) and the node agent's
streaming server (which reads the logs): ``container``, ``follow``, ``previous``,
``tailLines``, ``sinceSeconds``, ``sinceTime`` (RFC 3339), ``timestamps``, ``limitBytes``.
Validation follows kubernetes ``pkg/apis/core/validation.ValidatePodLogOptions``: a bad
value is a 422 ``Invalid`` on kind ``PodLogOptions``; a value that is not a number at all is
a 400, as the query decoder answers.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from steersman.api import errors

_TRUE = ("true", "1")


@dataclass(frozen=True, slots=True)
class PodLogOptions:
    container: str = ""
    follow: bool = False
    previous: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time_ns: int | None = None
    timestamps: bool = False
    limit_bytes: int | None = None


def parse_rfc3339_ns(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time with up to 9 fractional digits."""
    body, offset = _split_offset(text.strip())
    whole, _, fraction = body.partition(".")
    if not fraction.isdigit() and fraction:
        raise ValueError(f"bad fractional seconds in {text!r}")
    moment = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=offset)
    seconds = int(moment.timestamp())
    return seconds * 1_000_000_000 + int((fraction + "000000000")[:9])


def _split_offset(text: str) -> tuple[str, datetime.tzinfo]:
    if text.endswith(("Z", "z")):
        return text[:-1], datetime.UTC
    if len(text) > 6 and text[-6] in "+-" and text[-3] == ":":
        sign = 1 if text[-6] == "+" else -1
        delta = datetime.timedelta(hours=int(text[-5:-3]), minutes=int(text[-2:]))
        return text[:-6], datetime.timezone(sign * delta)
    raise ValueError(f"{text!r} has no time zone")


def format_rfc3339_ns(ns: int) -> str:
    """``2006-01-02T15:04:05.000000000Z``: UTC with nine fractional digits, as kubelet writes."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:09d}Z"


def _flag(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "").lower() in _TRUE


def _integer(query: Mapping[str, str], name: str) -> int | None:
    text = query.get(name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise errors.bad_request(f'invalid value for {name}: strconv.ParseInt: parsing '
                                 f'"{text}": invalid syntax') from None


def _since_time(query: Mapping[str, str]) -> int | None:
    text = query.get("sinceTime")
    if not text:
        return None
    try:
        return parse_rfc3339_ns(text)
    except ValueError:
        raise errors.bad_request(f'invalid value for sinceTime: parsing time "{text}" as '
                                 f'"2006-01-02T15:04:05Z07:00": cannot parse') from None


def pod_log_options(query: Mapping[str, str], *, name: str = "") -> PodLogOptions:
    """The options of a ``pods/log`` query; StatusError (400/422) when they are invalid."""
    options = PodLogOptions(
        container=query.get("container", ""), follow=_flag(query, "follow"),
        previous=_flag(query, "previous"), tail_lines=_integer(query, "tailLines"),
        since_seconds=_integer(query, "sinceSeconds"), since_time_ns=_since_time(query),
        timestamps=_flag(query, "timestamps"), limit_bytes=_integer(query, "limitBytes"))
    causes = _validate(options)
    if causes:
        raise errors.invalid_object("PodLogOptions", name, causes)
    return options


def _validate(options: PodLogOptions) -> list[errors.FieldError]:
    causes: list[errors.FieldError] = []
    if options.tail_lines is not None and options.tail_lines < 0:
        causes.append(errors.invalid("tailLines", options.tail_lines,
                                     "must be greater than or equal to 0"))
    if options.limit_bytes is not None and options.limit_bytes < 1:
        causes.append(errors.invalid("limitBytes", options.limit_bytes,
                                     "must be greater than 0"))
    if options.since_seconds is not None and options.since_time_ns is not None:
        causes.append(errors.forbidden("", "at most one of `sinceTime` or `sinceSeconds` "
                                           "may be specified"))
    elif options.since_seconds is not None and options.since_seconds < 1:
        causes.append(errors.invalid("sinceSeconds", options.since_seconds,
                                     "must be greater than 0"))
    return causes
