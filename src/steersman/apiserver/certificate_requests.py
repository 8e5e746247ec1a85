"""CertificateSigningRequests: who asked, and the ``/approval`` and ``/status`` subresources.

Contract (kube-apiserver's ``pkg/registry/certificates/certificates/strategy.go``):

* create records the requester: ``spec.username``, ``uid``, ``groups`` and ``extra`` come
  from the authenticated user, whatever the body says, and the status starts empty;
* ``/approval`` (``kubectl certificate approve|deny``) changes only the ``Approved`` and
  ``Denied`` conditions; once given, neither can be taken back;
* ``/status`` (the signer) changes everything in the status except those two conditions;
  ``status.certificate`` must be PEM ``CERTIFICATE`` blocks and, once set, never changes.

Both subresources take GET and PUT; PATCH answers 405 with what to use instead. The
generic handlers serve everything else; the strategy
(:mod:`steersman.api.strategies.certificates`) validates the spec and the conditions.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from steersman.api import errors
from steersman.api.resources import ResourceInfo
from steersman.apiserver import fieldmanager
from steersman.apiserver import negotiation as neg
from steersman.apiserver.authn import UserInfo, anonymous
from steersman.apiserver.generic import GenericRegistry
from steersman.apiserver.handlers import ResourceHandlers, dry_run, warning_headers
from steersman.apiserver.requestinfo import RequestInfo
from steersman.apiserver.reviews import read_object, user_info

Object = dict[str, Any]
Handler = Callable[[web.Request, ResourceInfo, RequestInfo], Awaitable[web.StreamResponse]]
RESOURCE = ("certificates.k8s.io", "certificatesigningrequests")
APPROVAL_TYPES = ("Approved", "Denied")
_PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


def _conditions(obj: Object, *, approval: bool) -> list[Object]:
    """The conditions of ``obj`` that are (``approval``) or are not Approved/Denied."""
    found = (obj.get("status") or {}).get("conditions") or []
    return [c for c in found if isinstance(c, dict)
            and (c.get("type") in APPROVAL_TYPES) == approval]


def _stamp(conditions: list[Object], now: str) -> list[Object]:
    for condition in conditions:
        condition.setdefault("status", "True")
        condition.setdefault("lastUpdateTime", now)
        condition.setdefault("lastTransitionTime", now)
    return conditions


def _check_version(body: Object, current: Object, info: ResourceInfo) -> None:
    wanted = str((body.get("metadata") or {}).get("resourceVersion") or "")
    if wanted and wanted != current["metadata"]["resourceVersion"]:
        raise errors.conflict(info.plural, current["metadata"]["name"], info.group)


def _invalid(info: ResourceInfo, name: str, path: str, detail: str) -> errors.StatusError:
    return errors.invalid_object(info.kind, name, [errors.forbidden(path, detail)], info.group)


def approved_conditions(info: ResourceInfo, body: Object, current: Object, now: str) -> Object:
    """``current`` with the Approved/Denied conditions of ``body`` (``/approval``)."""
    name = current["metadata"]["name"]
    given = _stamp(_conditions(body, approval=True), now)
    for old in _conditions(current, approval=True):
        if not any(c.get("type") == old.get("type") for c in given):
            raise _invalid(info, name, "status.conditions",
                           f"updates may not remove a condition of type {old.get('type')!r}")
    status = current.setdefault("status", {})
    status["conditions"] = given + _conditions(current, approval=False)
    return current


def signed_status(info: ResourceInfo, body: Object, current: Object, now: str) -> Object:
    """``current`` with the status of ``body``, Approved/Denied kept (``/status``)."""
    name = current["metadata"]["name"]
    given = body.get("status")
    status: Object = given if isinstance(given, dict) else {}
    old_certificate = (current.get("status") or {}).get("certificate")
    certificate = status.get("certificate")
    if old_certificate and certificate != old_certificate:
        raise _invalid(info, name, "status.certificate",
                       "updates may not modify existing certificate content")
    if certificate and not _is_certificate_pem(certificate):
        raise errors.invalid_object(info.kind, name, [errors.invalid(
            "status.certificate", "<certificate data>",
            "must contain at least one CERTIFICATE PEM block")], info.group)
    new_status = dict(status)
    new_status["conditions"] = (_conditions(current, approval=True)
                                + _stamp(_conditions(body, approval=False), now))
    current["status"] = new_status
    return current


def _is_certificate_pem(value: Any) -> bool:
    try:
        return _PEM_CERTIFICATE in base64.b64decode(str(value), validate=True).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False


class CertificateRequests:
    """The CSR-specific verbs; the rest goes through :class:`ResourceHandlers`."""

    def __init__(self, registry: GenericRegistry, handlers: ResourceHandlers) -> None:
        self._registry = registry
        self._handlers = handlers

    def route(self, method: str, info: ResourceInfo, ri: RequestInfo) -> Handler | None:
        """The handler of this module for a request, or None when the generic ones serve it."""
        if (info.group, info.plural) != RESOURCE:
            return None
        if ri.subresource in ("approval", "status"):
            return self.subresource
        if method == "POST" and not ri.name and not ri.subresource:
            return self.create
        return None

    async def create(self, request: web.Request, info: ResourceInfo,
                     ri: RequestInfo) -> web.StreamResponse:
        obj, warnings = await read_object(request, info)
        requester = request.get("user")
        given = obj.get("spec")
        spec: Object = given if isinstance(given, dict) else {}
        for key in ("username", "uid", "groups", "extra"):
            spec.pop(key, None)
        spec.update(user_info(requester if isinstance(requester, UserInfo) else anonymous()))
        obj["spec"] = spec
        tracker = fieldmanager.update_tracker(
            info, manager=fieldmanager.request_manager(request, "CreateOptions"),
            subresource="", now=self._registry.now())
        created = await self._registry.create(info, "", obj, dry_run=dry_run(request),
                                              track_fields=tracker)
        return neg.json_response(created, 201, warning_headers(warnings))

    async def subresource(self, request: web.Request, info: ResourceInfo,
                          ri: RequestInfo) -> web.StreamResponse:
        if request.method == "GET":
            return await self._handlers.get(request, info, ri)
        if request.method != "PUT":
            raise errors.StatusError(
                405, "MethodNotAllowed",
                f"{request.method} is not supported on {info.plural}/{ri.subresource}; "
                f"send the whole object with PUT (kubectl certificate approve|deny does)")
        body, _ = await read_object(request, info)
        change = approved_conditions if ri.subresource == "approval" else signed_status
        now = self._registry.now()

        def mutate(current: Object) -> Object:
            _check_version(body, current, info)
            return change(info, body, current, now)

        saved = await self._registry.guaranteed_update(
            info, "", ri.name, mutate, subresource="status", dry_run=dry_run(request))
        return neg.json_response(saved)
