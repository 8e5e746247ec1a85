"""Subresources with their own request shapes: scale, binding, eviction, finalize, status.

``/status`` reuses the generic update path with the spec/status split; ``/scale`` reads and
writes ``spec.replicas`` (a custom resource: its CRD's replica paths) through an
``autoscaling/v1 Scale``; ``pods/binding`` sets the
node of an unbound pod; ``pods/eviction`` deletes a pod unless a PodDisruptionBudget
forbids it (429; :mod:`.eviction` checks and spends the budget); ``serviceaccounts/token``
issues a token (:mod:`.tokenrequest`).
Streaming subresources (log, exec, attach, portforward) are relayed to the pod's node agent
by :mod:`.nodeproxy`; without one (no PKI to authenticate to nodes) and for ``proxy``, they
say so with a clear Status.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from steersman.api import errors
from steersman.api.custom_resources import scale_of_custom, set_custom_replicas
from steersman.api.resources import ResourceInfo
from steersman.api.selectors import selector_from_label_selector_spec
from steersman.apiserver import fieldmanager
from steersman.apiserver import negotiation as neg
from steersman.apiserver.eviction import EvictionBudgets
from steersman.apiserver.generic import DeleteOptions, GenericRegistry
from steersman.apiserver.handlers import ResourceHandlers, dry_run, success_status
from steersman.apiserver.nodeproxy import NodeProxy
from steersman.apiserver.patching import JSON_PATCH, MERGE_PATCH, STRATEGIC, patched
from steersman.apiserver.requestinfo import RequestInfo
from steersman.apiserver.tokenrequest import TokenRequests

Object = dict[str, Any]
_STREAMING = ("log", "exec", "attach", "portforward", "proxy")


class Subresources:
    def __init__(self, registry: GenericRegistry, handlers: ResourceHandlers,
                 tokens: TokenRequests | None = None, node_proxy: NodeProxy | None = None,
                 ) -> None:
        self._registry = registry
        self._handlers = handlers
        self._tokens = tokens
        self._node_proxy = node_proxy

    async def dispatch(self, request: web.Request, info: ResourceInfo,
                       ri: RequestInfo) -> web.StreamResponse:
        sub = info.subresource(ri.subresource)
        if sub is None:
            raise errors.StatusError(404, "NotFound",
                                     f'{info.qualified} "{ri.name}" has no subresource '
                                     f'"{ri.subresource}"')
        method = request.method
        if ri.subresource == "status":
            return await self._status(request, info, ri)
        if ri.subresource == "scale":
            return await self._scale(request, info, ri)
        if ri.subresource == "binding" and method == "POST":
            return await self._bind(request, info, ri)
        if ri.subresource == "eviction" and method == "POST":
            return await self._evict(request, info, ri)
        if ri.subresource == "token" and method == "POST":
            return await self._token(request, info, ri)
        if ri.subresource == "finalize" and method == "PUT":
            return await self._handlers.update(request, info, ri)
        if ri.subresource in _STREAMING:
            return await self._streaming(request, info, ri)
        raise errors.method_not_allowed(method, f"{info.plural}/{ri.subresource}")

    async def _token(self, request: web.Request, info: ResourceInfo,
                     ri: RequestInfo) -> web.StreamResponse:
        if self._tokens is None:
            raise errors.service_unavailable(
                "this API server has no service-account signing key, so it issues no tokens")
        return await self._tokens.create(request, info, ri)

    async def _status(self, request: web.Request, info: ResourceInfo,
                      ri: RequestInfo) -> web.StreamResponse:
        if request.method == "GET":
            return await self._handlers.get(request, info, ri)
        if request.method == "PUT":
            return await self._handlers.update(request, info, ri)
        if request.method == "PATCH":
            return await self._handlers.patch(request, info, ri)
        raise errors.method_not_allowed(request.method, f"{info.plural}/status")

    async def _scale(self, request: web.Request, info: ResourceInfo,
                     ri: RequestInfo) -> web.StreamResponse:
        if request.method == "GET":
            obj = await self._registry.get(info, ri.namespace, ri.name)
            return neg.json_response(scale_view(info, obj))
        if request.method not in ("PUT", "PATCH"):
            raise errors.method_not_allowed(request.method, f"{info.plural}/scale")
        content_type = neg.media_type(request)
        body = neg.parse_document(await neg.read_body(request), content_type)

        def mutate(current: Object) -> Object:
            scale = scale_view(info, current)
            if request.method == "PUT":
                wanted = body
            else:
                patch_type = STRATEGIC if content_type == STRATEGIC else content_type
                if patch_type not in (JSON_PATCH, MERGE_PATCH, STRATEGIC):
                    raise errors.unsupported_media_type(content_type)
                wanted = patched(info, scale, MERGE_PATCH if patch_type == STRATEGIC
                                 else patch_type, body)
            replicas = (wanted.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise errors.invalid_object("Scale", ri.name, [errors.invalid(
                    "spec.replicas", replicas, "must be greater than or equal to 0")],
                    "autoscaling")
            set_replicas(info, current, replicas)
            return current

        tracker = fieldmanager.update_tracker(
            info, manager=fieldmanager.request_manager(request, "UpdateOptions"),
            subresource="scale", now=self._registry.now())
        obj = await self._registry.guaranteed_update(info, ri.namespace, ri.name, mutate,
                                                     dry_run=dry_run(request),
                                                     track_fields=tracker)
        return neg.json_response(scale_view(info, obj))

    async def _bind(self, request: web.Request, info: ResourceInfo,
                    ri: RequestInfo) -> web.StreamResponse:
        body = neg.parse_document(await neg.read_body(request), neg.media_type(request))
        target = (body.get("target") or {}) if isinstance(body, dict) else {}
        node = target.get("name")
        if not node:
            raise errors.invalid_object("Binding", ri.name, [errors.required("target.name")])

        def bind(pod: Object) -> Object:  # the live pod: a new one shares what is unchanged
            if pod.get("spec", {}).get("nodeName"):
                raise errors.conflict("pods/binding", ri.name, "",
                                      f"pod {ri.name} is already assigned to node "
                                      f'"{pod["spec"]["nodeName"]}"')
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.conflict("pods/binding", ri.name, "",
                                      f"pod {ri.name} is being deleted, cannot be assigned")
            status = dict(pod.get("status") or {})
            status["conditions"] = _with_condition(status.get("conditions") or [],
                                                   "PodScheduled", "True", self._registry.now())
            return {**pod, "metadata": dict(pod["metadata"]),
                    "spec": {**pod.get("spec", {}), "nodeName": node}, "status": status}

        await self._registry.guaranteed_update(info, ri.namespace, ri.name, bind,
                                               subresource="binding", dry_run=dry_run(request),
                                               copy=False)
        return neg.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                  "status": "Success", "code": 201}, 201)

    async def _evict(self, request: web.Request, info: ResourceInfo,
                     ri: RequestInfo) -> web.StreamResponse:
        body = neg.parse_document(await neg.read_body(request), neg.media_type(request))
        delete_body = (body.get("deleteOptions") or {}) if isinstance(body, dict) else {}
        pod = await self._registry.get(info, ri.namespace, ri.name)
        await EvictionBudgets(self._registry).spend(pod, dry_run=dry_run(request))
        grace = delete_body.get("gracePeriodSeconds")
        obj, _ = await self._registry.delete(info, ri.namespace, ri.name, DeleteOptions(
            grace_period_seconds=int(grace) if grace is not None else None,
            dry_run=dry_run(request)))
        status = success_status(info, obj)
        status["code"] = 201
        return neg.json_response(status, 201)

    async def _streaming(self, request: web.Request, info: ResourceInfo,
                         ri: RequestInfo) -> web.StreamResponse:
        pod = await self._registry.get(info, ri.namespace, ri.name)
        node = pod.get("spec", {}).get("nodeName")
        if not node:
            raise errors.bad_request(
                f"pod {ri.name} does not have a host assigned")
        if self._node_proxy is not None and ri.subresource != "proxy":
            return await self._node_proxy.serve(request, pod, ri)
        raise errors.service_unavailable(
            f"{ri.subresource} for pod {ri.namespace}/{ri.name} needs the node agent on node "
            f'"{node}", and this server cannot reach a node agent there yet')


def scale_view(info: ResourceInfo, obj: Object) -> Object:
    """The Scale of ``obj``: on its CRD's replica paths for a custom resource."""
    if info.crd is not None:
        return scale_of_custom(obj, info.crd.get("scale") or {})
    return scale_of(obj)


def set_replicas(info: ResourceInfo, obj: Object, replicas: int) -> None:
    if info.crd is not None:
        set_custom_replicas(obj, info.crd.get("scale") or {}, replicas)
    else:
        obj.setdefault("spec", {})["replicas"] = replicas


def scale_of(obj: Object) -> Object:
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    selector = spec.get("selector")
    if obj.get("kind") == "ReplicationController" and isinstance(selector, dict):
        selector_text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    else:
        selector_text = str(selector_from_label_selector_spec(selector)) if selector else ""
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                           "creationTimestamp") if k in meta},
        "spec": {"replicas": int(spec.get("replicas", 0))},
        "status": {"replicas": int(status.get("replicas", 0)), "selector": selector_text},
    }


def _with_condition(conditions: list[Object], kind: str, status: str,
                    now: str) -> list[Object]:
    """``conditions`` (left as they are) with condition ``kind`` set to ``status``."""
    for index, condition in enumerate(conditions):
        if condition.get("type") == kind:
            changed = {**condition, "status": status, "lastTransitionTime": now}
            return [*conditions[:index], changed, *conditions[index + 1:]]
    return [*conditions, {"type": kind, "status": status, "lastProbeTime": None,
                          "lastTransitionTime": now}]
