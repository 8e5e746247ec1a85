"""``autoscaling/v1`` HorizontalPodAutoscaler: a converted view of the stored ``v2`` objects.

HPAs are stored once, as ``autoscaling/v2``; ``kubectl autoscale`` (1.32) still creates
them through ``v1`` (in protobuf). This module serves ``v1`` by converting, as
kube-apiserver's conversion functions do: ``targetCPUUtilizationPercentage`` is the cpu
``Utilization`` metric and ``currentCPUUtilizationPercentage`` its current value; what ``v1``
cannot say (other metrics, behavior, conditions, current metrics) travels in the
``autoscaling.alpha.kubernetes.io/…`` annotations, so a ``v1`` read-modify-write keeps it.

Verbs: get, list (plain or Table), create, update, delete. ``patch`` and ``watch`` through
``v1`` are refused with a 405 that points to ``autoscaling/v2``.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
from aiohttp import web

from steersman.api import errors
from steersman.api.resources import Registry, ResourceInfo
from steersman.apiserver import fieldmanager
from steersman.apiserver import negotiation as neg
from steersman.apiserver.fieldvalidation import validate_fields
from steersman.apiserver.generic import GenericRegistry
from steersman.apiserver.handlers import (
    delete_options,
    dry_run,
    list_options,
    success_status,
    warning_headers,
)
from steersman.apiserver.requestinfo import RequestInfo

Object = dict[str, Any]
GROUP, PLURAL = "autoscaling", "horizontalpodautoscalers"
V1 = ResourceInfo(group=GROUP, version="v1", kind="HorizontalPodAutoscaler", plural=PLURAL,
                  singular="horizontalpodautoscaler", namespaced=True,
                  verbs=("create", "delete", "get", "list", "update"))
_PREFIX = "autoscaling.alpha.kubernetes.io/"
_METRICS, _CURRENT = f"{_PREFIX}metrics", f"{_PREFIX}current-metrics"
_CONDITIONS, _BEHAVIOR = f"{_PREFIX}conditions", f"{_PREFIX}behavior"
_BODY_TYPES = (neg.JSON, "application/yaml", "application/vnd.kubernetes.protobuf")


class HorizontalPodAutoscalerV1:
    """Serves ``autoscaling/v1`` HPAs over the stored ``v2`` ones."""

    def __init__(self, registry: GenericRegistry) -> None:
        self._registry = registry

    def register(self, resources: Registry) -> None:
        resources.add(V1)

    def serves(self, info: ResourceInfo) -> bool:
        return (info.group, info.version, info.plural) == (GROUP, "v1", PLURAL)

    async def serve(self, request: web.Request, info: ResourceInfo,
                    ri: RequestInfo) -> web.StreamResponse:
        v2 = self._v2()
        method = request.method
        watch = request.query.get("watch") in ("true", "1")
        if ri.subresource or method == "PATCH" or watch:
            what = f"the {ri.subresource} subresource" if ri.subresource else (
                "watch" if watch else method)
            raise errors.StatusError(
                405, "MethodNotAllowed", f"{what} of autoscaling/v1 horizontalpodautoscalers "
                "is not served: use autoscaling/v2")
        if method == "GET" and ri.name:
            return neg.json_response(to_v1(await self._registry.get(v2, ri.namespace, ri.name)))
        if method == "GET":
            return await self._list(request, v2, ri)
        if method == "POST" and not ri.name:
            return await self._create(request, v2, ri)
        if method == "PUT" and ri.name:
            return await self._update(request, v2, ri)
        if method == "DELETE" and ri.name:
            obj, gone = await self._registry.delete(v2, ri.namespace, ri.name,
                                                    await delete_options(request))
            return neg.json_response(success_status(v2, obj) if gone else to_v1(obj))
        raise errors.method_not_allowed(method, PLURAL)

    async def _list(self, request: web.Request, v2: ResourceInfo,
                    ri: RequestInfo) -> web.Response:
        page = await self._registry.list_page(v2, ri.namespace, list_options(request, v2))
        if neg.wants_table(request):
            return neg.json_response(neg.table(v2, page.items, neg.include_object(request),
                                               revision=str(page.revision)))
        metadata: Object = {"resourceVersion": str(page.revision)}
        if page.continue_token:
            metadata["continue"] = page.continue_token
        return neg.json_response({"kind": "HorizontalPodAutoscalerList",
                                  "apiVersion": V1.api_version, "metadata": metadata,
                                  "items": [to_v1(item) for item in page.items]})

    async def _create(self, request: web.Request, v2: ResourceInfo,
                      ri: RequestInfo) -> web.Response:
        obj, warnings = await _body(request)
        tracker = fieldmanager.update_tracker(
            v2, manager=fieldmanager.request_manager(request, "CreateOptions"), subresource="",
            now=self._registry.now())
        created = await self._registry.create(v2, ri.namespace, to_v2(obj),
                                              dry_run=dry_run(request), track_fields=tracker)
        return neg.json_response(to_v1(created), 201, warning_headers(warnings))

    async def _update(self, request: web.Request, v2: ResourceInfo,
                      ri: RequestInfo) -> web.Response:
        obj, warnings = await _body(request)
        tracker = fieldmanager.update_tracker(
            v2, manager=fieldmanager.request_manager(request, "UpdateOptions"), subresource="",
            now=self._registry.now())
        saved, _ = await self._registry.update(v2, ri.namespace, ri.name, to_v2(obj),
                                               dry_run=dry_run(request), track_fields=tracker)
        return neg.json_response(to_v1(saved), 200, warning_headers(warnings))

    def _v2(self) -> ResourceInfo:
        info = self._registry.resources.get(GROUP, "v2", PLURAL)
        assert info is not None
        return info


async def _body(request: web.Request) -> tuple[Object, list[str]]:
    content_type = neg.media_type(request)
    neg.check_body_type(content_type, _BODY_TYPES)
    obj = neg.object_body(neg.parse_document(await neg.read_body(request), content_type), V1)
    if obj.get("kind") not in (None, "", V1.kind):
        raise errors.bad_request(f"the object provided is unrecognized (must be of type "
                                 f"{V1.kind}): kind {obj.get('kind')!r} in the request body")
    return obj, validate_fields(V1, obj, request.query.get("fieldValidation", "Warn"))


def to_v1(stored: Object) -> Object:
    """A stored ``v2`` HPA as ``autoscaling/v1`` serves it."""
    obj = copy.deepcopy(stored)
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    annotations = dict((obj.setdefault("metadata", {})).get("annotations") or {})
    metrics = spec.pop("metrics", None) or []
    cpu = next((m for m in metrics if _is_cpu_utilization(m)), None)
    if cpu is not None:
        spec["targetCPUUtilizationPercentage"] = cpu["resource"]["target"]["averageUtilization"]
    _annotate(annotations, _METRICS, [m for m in metrics if m is not cpu])
    _annotate(annotations, _BEHAVIOR, spec.pop("behavior", None))
    current = status.pop("currentMetrics", None) or []
    cpu_now = next((m for m in current if _is_cpu_utilization(m, "current")), None)
    if cpu_now is not None:
        status["currentCPUUtilizationPercentage"] = \
            cpu_now["resource"]["current"]["averageUtilization"]
    _annotate(annotations, _CURRENT, [m for m in current if m is not cpu_now])
    _annotate(annotations, _CONDITIONS, status.pop("conditions", None))
    if annotations:
        obj["metadata"]["annotations"] = annotations
    obj["apiVersion"] = V1.api_version
    if obj.get("status") is not None:
        status.setdefault("currentReplicas", 0)
        status.setdefault("desiredReplicas", 0)
    return obj


def to_v2(given: Object) -> Object:
    """An ``autoscaling/v1`` HPA as ``v2`` stores it (the annotations back into fields)."""
    obj = copy.deepcopy(given)
    spec = obj.setdefault("spec", {})
    meta = obj.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    metrics = _unannotate(annotations, _METRICS) or []
    target = spec.pop("targetCPUUtilizationPercentage", None)
    if target is not None:
        metrics.insert(0, {"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": target}}})
    if metrics:
        spec["metrics"] = metrics
    behavior = _unannotate(annotations, _BEHAVIOR)
    if behavior:
        spec["behavior"] = behavior
    status = obj.get("status")
    if isinstance(status, dict):
        _status_to_v2(status, annotations)
    for key in (_CURRENT, _CONDITIONS):
        annotations.pop(key, None)
    meta["annotations"] = annotations
    if not annotations:
        meta.pop("annotations")
    obj["apiVersion"] = "autoscaling/v2"
    return obj


def _status_to_v2(status: Object, annotations: dict[str, str]) -> None:
    current = _unannotate(annotations, _CURRENT) or []
    cpu = status.pop("currentCPUUtilizationPercentage", None)
    if cpu is not None:
        current.insert(0, {"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": cpu}}})
    if current:
        status["currentMetrics"] = current
    conditions = _unannotate(annotations, _CONDITIONS)
    if conditions:
        status["conditions"] = conditions


def _is_cpu_utilization(metric: Object, field: str = "target") -> bool:
    resource = metric.get("resource") or {}
    value = resource.get(field) or {}
    return metric.get("type") == "Resource" and resource.get("name") == "cpu" and (
        value.get("averageUtilization") is not None) and (
        field != "target" or value.get("type") == "Utilization")


def _annotate(annotations: dict[str, str], key: str, value: Any) -> None:
    if value:
        annotations[key] = orjson.dumps(value).decode()
    else:
        annotations.pop(key, None)


def _unannotate(annotations: dict[str, str], key: str) -> Any:
    text = annotations.pop(key, None)
    if not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as err:
        raise errors.bad_request(f"metadata.annotations[{key}]: not JSON: {err}") from err
