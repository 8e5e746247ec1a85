"""Content negotiation: request bodies in, JSON (or a Table) out.

Bodies arrive as JSON, YAML or Kubernetes protobuf (kubectl's ``create <generator>``
commands send protobuf); everything is answered as ``application/json`` exactly (lightkube
parses errors only for that content type). A client asking for ``as=Table`` gets the
server-side printed Table with the columns ``kubectl get`` shows.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import yaml
from aiohttp import web

from steersman.api import errors, printers
from steersman.api.protobuf import ProtobufError, decode_object
from steersman.api.resources import ResourceInfo

Object = dict[str, Any]
MAX_BODY_BYTES = 3 * 1024 * 1024
MAX_DEPTH = 100
JSON = "application/json"
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml",
               "application/apply-patch+yaml")
_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                "application/strategic-merge-patch+json", "application/apply-patch+yaml")


def media_type(request: web.Request) -> str:
    return request.headers.get("Content-Type", "").split(";")[0].strip().lower()


async def read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise errors.request_entity_too_large(MAX_BODY_BYTES)
    # StreamReader.read(n) returns what has arrived so far, not n bytes: read to the end.
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:
        chunk = await request.content.read(MAX_BODY_BYTES + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    body = b"".join(chunks)
    if len(body) > MAX_BODY_BYTES:
        raise errors.request_entity_too_large(MAX_BODY_BYTES)
    return body


def parse_document(body: bytes, content_type: str) -> Any:
    """Decode a JSON, YAML or protobuf body; malformed input is a 400."""
    if not body.strip():
        raise errors.bad_request("the request body is empty; send a JSON or YAML document")
    openings: int | None = None  # of a JSON body: at least as many as it has containers
    try:
        if content_type == "application/vnd.kubernetes.protobuf":
            return decode_object(body)
        if content_type in _YAML_TYPES or (content_type not in (JSON, *_PATCH_TYPES, "")
                                           and not body.lstrip().startswith((b"{", b"["))):
            data = yaml.load(body, Loader=yaml.CSafeLoader)
        else:
            data = orjson.loads(body)
            openings = _json_openings(body)
            if openings < MAX_DEPTH:
                return data
    except ProtobufError as exc:
        raise errors.bad_request(f"unable to decode protobuf body: {exc}") from exc
    except (orjson.JSONDecodeError, yaml.YAMLError, RecursionError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"error decoding the request body: {_first_line(exc)}") from exc
    check_depth(data, openings)
    return data


def _json_openings(body: bytes) -> int:
    """The ``{`` and ``[`` of a JSON document: no fewer than the containers it holds.

    Every container opens with one of them (brackets inside strings only make the count
    more cautious). Fewer than ``MAX_DEPTH`` cannot nest past it: counting (in C) replaces
    the walk for ordinary objects, which have a few dozen; for larger ones the count bounds
    how deep the levels the walk has not reached yet can go.
    """
    return body.count(b"{") + body.count(b"[")


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def check_depth(data: Any, containers: int | None = None) -> None:
    """Reject absurd nesting, before anything recursive touches the data: a non-empty object
    or array ``MAX_DEPTH`` levels down (the document itself is level 1) is a 400.

    The walk goes level by level, each level one list comprehension, so that a write's body
    costs a few comprehensions rather than a loop iteration per value. The decoders (orjson,
    YAML's safe loader, protobuf) make plain dicts and lists, so exact type tests find every
    container, at two thirds of the cost of ``isinstance`` on the (mostly scalar) values.
    ``containers``, when known, is at least how many ``data`` holds: the walk stops as soon
    as those it has not met yet are too few to go on down to ``MAX_DEPTH`` (a pod's
    managedFields are many shallow containers, met in the first few levels).
    """
    level = [data] if type(data) is dict or type(data) is list else []
    unmet = containers - len(level) if containers is not None else MAX_DEPTH
    for depth in range(1, MAX_DEPTH):
        if not level or depth + unmet < MAX_DEPTH:
            return
        level = [child for value in level
                 for child in (value.values() if type(value) is dict else value)
                 if type(child) is dict or type(child) is list]
        if containers is not None:
            unmet -= len(level)
    if any(level):
        raise errors.bad_request(f"the request body nests deeper than {MAX_DEPTH} levels")


def check_body_type(content_type: str, allowed: tuple[str, ...]) -> None:
    if content_type and content_type not in allowed:
        raise errors.unsupported_media_type(content_type)


def object_body(data: Any, info: ResourceInfo) -> Object:
    if not isinstance(data, dict):
        raise errors.bad_request(
            f"the request body must be a {info.kind} object, not {type(data).__name__}")
    return data


def json_response(data: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=JSON,
                        headers=headers)


def status_response(exc: errors.StatusError) -> web.Response:
    return json_response(exc.to_status(), exc.code, exc.headers or None)


def wants_table(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "as=Table" in accept.replace(" ", "")


def include_object(request: web.Request) -> str:
    return request.query.get("includeObject", "Metadata")


def table_columns(info: ResourceInfo) -> list[dict[str, Any]]:
    columns = _columns(info)
    return printers.column_definitions(columns)


def _columns(info: ResourceInfo) -> list[printers.Column]:
    if info.crd is not None:
        return printers.crd_columns(info.crd.get("printerColumns") or [])
    return printers.columns_for(info.group, info.kind)


def table_row(info: ResourceInfo, obj: Object, include: str, now: float | None = None) -> Object:
    when = time.time() if now is None else now
    if info.crd is not None:
        cells = printers.crd_row_cells(info.crd.get("printerColumns") or [], obj, when)
    else:
        cells = printers.row_cells(info.group, info.kind, obj, when)
    row: Object = {"cells": cells}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = partial_metadata(obj)
    return row


def partial_metadata(obj: Object) -> Object:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata", {})}


def table(info: ResourceInfo, objects: list[Object], include: str, *,
          revision: str = "", continue_token: str = "", headers: bool = True) -> Object:
    now = time.time()
    return {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": revision, "continue": continue_token} if revision else {},
        "columnDefinitions": table_columns(info) if headers else [],
        "rows": [table_row(info, obj, include, now) for obj in objects],
    }
