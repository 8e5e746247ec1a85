"""``POST …/serviceaccounts/<name>/token``: a TokenRequest answered with a signed token.

Follows kube's ``pkg/registry/core/serviceaccount/storage/token.go``: the service account
must exist (404); ``metadata.name``/``namespace`` in the body, when set, must match the URL;
``spec.audiences`` defaults to the API audiences and ``spec.expirationSeconds`` to 3600
(at least 600, at most 2^32); an optional ``spec.boundObjectRef`` (v1 Pod, Secret or Node)
must exist, match its ``uid`` when one is given, and for a Pod run as this service account;
its name and uid go into the token, so the token dies with the object. Nothing is stored.
``dryRun`` validates everything and answers without a token.

:func:`registry_lookup` is the read the authenticator needs to check that the objects a
token names still exist; it reads the watch cache, like kube's informer-backed getter.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from steersman.api import errors
from steersman.api.meta import now_rfc3339
from steersman.api.resources import ResourceInfo
from steersman.apiserver import negotiation as neg
from steersman.apiserver.authn import ObjectLookup
from steersman.apiserver.generic import GenericRegistry
from steersman.apiserver.handlers import dry_run, warning_headers
from steersman.apiserver.requestinfo import RequestInfo
from steersman.apiserver.reviews import read_object, section
from steersman.apiserver.service_account_tokens import (
    DEFAULT_EXPIRATION_SECONDS,
    MAX_EXPIRATION_SECONDS,
    MIN_EXPIRATION_SECONDS,
    ObjectRef,
    ServiceAccountTokens,
    TokenSubject,
)

Object = dict[str, Any]
GROUP = "authentication.k8s.io"
TOKEN_REQUEST = ResourceInfo(group=GROUP, version="v1", kind="TokenRequest",
                             plural="tokenrequests", singular="tokenrequest", namespaced=True,
                             verbs=("create",))
_BINDABLE = {"Pod": "pods", "Secret": "secrets", "Node": "nodes"}


def registry_lookup(registry: GenericRegistry) -> ObjectLookup:
    """``lookup(kind, namespace, name)`` over the cached core/v1 objects."""

    def lookup(kind: str, namespace: str, name: str) -> str | None:
        info = registry.resources.by_kind("", "v1", kind)
        obj = registry.cached(info, namespace, name) if info is not None else None
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return None
        return str(obj["metadata"].get("uid") or "")

    return lookup


class TokenRequests:
    """Issues tokens for existing service accounts through the ``token`` subresource."""

    def __init__(self, registry: GenericRegistry, tokens: ServiceAccountTokens) -> None:
        self._registry = registry
        self._tokens = tokens

    async def create(self, request: web.Request, info: ResourceInfo,
                     ri: RequestInfo) -> web.StreamResponse:
        body, warnings = await read_object(request, TOKEN_REQUEST)
        metadata = _checked_metadata(body, ri)
        account = await self._registry.get(info, ri.namespace, ri.name)
        spec = _defaulted_spec(body, self._tokens.api_audiences)
        subject = await self._subject(account, spec.get("boundObjectRef"), ri)
        now = self._registry.now()
        status: Object = {"token": "", "expirationTimestamp": None}
        if not dry_run(request):
            issued = self._tokens.issue(subject, audiences=spec["audiences"],
                                        expiration_seconds=spec["expirationSeconds"])
            status = {"token": issued.token,
                      "expirationTimestamp": now_rfc3339(issued.expires_at)}
        answer = {"kind": "TokenRequest", "apiVersion": TOKEN_REQUEST.api_version,
                  "metadata": {**metadata, "creationTimestamp": now}, "spec": spec,
                  "status": status}
        return neg.json_response(answer, 201, warning_headers(warnings))

    async def _subject(self, account: Object, ref: Object | None,
                       ri: RequestInfo) -> TokenSubject:
        subject = TokenSubject(ri.namespace, ObjectRef(ri.name, account["metadata"]["uid"]))
        if ref is None:
            return subject
        kind, name = ref["kind"], ref["name"]
        bound = await self._bound_object(kind, ri.namespace if kind != "Node" else "", name)
        uid = bound["metadata"]["uid"]
        if ref.get("uid") and ref["uid"] != uid:
            raise errors.conflict(kind, name, "", (
                f"the UID in the bound object reference ({ref['uid']}) does not match the UID "
                f"in record ({uid}). The object might have been deleted and then recreated"))
        if kind == "Pod":
            return self._pod_subject(subject, bound)
        if kind == "Secret":
            return dataclasses.replace(subject, secret=ObjectRef(name, uid))
        return dataclasses.replace(subject, node=ObjectRef(name, uid))

    async def _bound_object(self, kind: str, namespace: str, name: str) -> Object:
        info = self._registry.resources.get("", "v1", _BINDABLE[kind])
        assert info is not None, f"core/v1 {kind} is always served"
        return await self._registry.get(info, namespace, name)

    def _pod_subject(self, subject: TokenSubject, pod: Object) -> TokenSubject:
        account = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        if account != subject.account.name:
            raise errors.bad_request(
                f'cannot bind token for serviceaccount "{subject.account.name}" to pod '
                f'running with serviceaccount "{account}"')
        meta = pod["metadata"]
        return dataclasses.replace(subject, pod=ObjectRef(meta["name"], meta["uid"]),
                                   node=self._node_of(pod))

    def _node_of(self, pod: Object) -> ObjectRef | None:
        """The pod's node, named in the token for information (kube: PodNodeInfo)."""
        node_name = str((pod.get("spec") or {}).get("nodeName") or "")
        nodes = self._registry.resources.get("", "v1", "nodes")
        node = self._registry.cached(nodes, "", node_name) if node_name and nodes else None
        return ObjectRef(node_name, node["metadata"]["uid"]) if node else None


def _checked_metadata(body: Object, ri: RequestInfo) -> Object:
    metadata = section(body, "metadata")
    for field, wanted, what in (("name", ri.name, "name"),
                                ("namespace", ri.namespace, "namespace")):
        given = metadata.get(field)
        if given and given != wanted:
            raise errors.invalid_object("TokenRequest", ri.name, [errors.invalid(
                f"metadata.{field}", given,
                f"must match the service account {what} if specified")], GROUP)
    return {**metadata, "name": ri.name, "namespace": ri.namespace}


def _defaulted_spec(body: Object, api_audiences: tuple[str, ...]) -> Object:
    spec = section(body, "spec")
    audiences = [str(a) for a in spec.get("audiences") or []] or list(api_audiences)
    seconds = spec.get("expirationSeconds")
    seconds = DEFAULT_EXPIRATION_SECONDS if seconds is None else seconds
    causes = _expiration_causes(seconds)
    ref = spec.get("boundObjectRef")
    if ref is not None:
        causes += _bound_ref_causes(ref)
    if causes:
        raise errors.invalid_object("TokenRequest", "", causes, GROUP)
    return {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": ref}


def _expiration_causes(seconds: Any) -> list[errors.FieldError]:
    path = "spec.expirationSeconds"
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        return [errors.invalid(path, seconds, "must be an integer number of seconds")]
    if seconds < MIN_EXPIRATION_SECONDS:
        return [errors.invalid(path, seconds, "may not specify a duration less than 10 minutes")]
    if seconds > MAX_EXPIRATION_SECONDS:
        return [errors.invalid(path, seconds,
                               "may not specify a duration larger than 2^32 seconds")]
    return []


def _bound_ref_causes(ref: Any) -> list[errors.FieldError]:
    """What is invalid about ``spec.boundObjectRef``; a kind that cannot be bound is a 400."""
    path = "spec.boundObjectRef"
    if not isinstance(ref, dict):
        return [errors.invalid(path, ref, "must be an object reference")]
    if not ref.get("name"):
        return [errors.required(f"{path}.name")]
    kind, api_version = ref.get("kind", ""), ref.get("apiVersion", "v1")
    if api_version != "v1" or kind not in _BINDABLE:
        group, _, version = str(api_version).rpartition("/")
        raise errors.bad_request(
            f"cannot bind token to object of type {group}/{version}, Kind={kind}")
    return []
