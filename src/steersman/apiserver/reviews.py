"""Review resources: create-only questions answered from the request, never stored.

``authorization.k8s.io/v1`` SelfSubjectAccessReview, SubjectAccessReview,
LocalSubjectAccessReview and SelfSubjectRulesReview answer "may this subject do that?";
``authentication.k8s.io/v1`` SelfSubjectReview ("who am I?", ``kubectl auth whoami``) and
TokenReview ("whose token is this?"). ``POST`` to the collection returns the request with a
computed ``status`` (201); any other verb on the collection is 405 and any named path 404,
as for kube's create-only REST storage.

Authorization is not enforced yet: every authenticated user may do everything, and the
access reviews say so in ``status.reason``. RBAC will replace :func:`_allowed`.

Neighbours: :mod:`.authn` (the caller's :class:`UserInfo`, token checks for TokenReview),
:mod:`.app` routes these groups here before the generic storage path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from steersman.api import errors
from steersman.api.meta import now_rfc3339
from steersman.api.resources import ResourceInfo
from steersman.apiserver import negotiation as neg
from steersman.apiserver.authn import (
    ANONYMOUS_USER,
    SYSTEM_UNAUTHENTICATED,
    Authenticator,
    UserInfo,
    anonymous,
)
from steersman.apiserver.fieldvalidation import validate_fields
from steersman.apiserver.handlers import warning_headers
from steersman.apiserver.requestinfo import RequestInfo

Object = dict[str, Any]
VIRTUAL_GROUPS = frozenset({"authorization.k8s.io", "authentication.k8s.io"})
ALLOW_REASON = "steersman allows every authenticated user (RBAC not enforced yet)"
DENY_REASON = "steersman allows only authenticated users (RBAC not enforced yet)"
_ATTRIBUTES = "exactly one of nonResourceAttributes or resourceAttributes must be specified"
_BODY_TYPES = (neg.JSON, "application/yaml", "application/vnd.kubernetes.protobuf")

Answer = Callable[[web.Request, Object, RequestInfo], Object]


async def read_object(request: web.Request, info: ResourceInfo) -> tuple[Object, list[str]]:
    """The request body as an object of ``info.kind`` and the field-validation warnings."""
    content_type = neg.media_type(request)
    neg.check_body_type(content_type, _BODY_TYPES)
    obj = neg.object_body(neg.parse_document(await neg.read_body(request), content_type), info)
    kind = obj.get("kind")
    if kind not in (None, "", info.kind):
        raise errors.bad_request(
            f"the object provided is unrecognized (must be of type {info.kind}): "
            f"kind {kind!r} in the request body")
    return obj, validate_fields(info, obj, request.query.get("fieldValidation", "Warn"))


def user_info(user: UserInfo) -> Object:
    """A ``UserInfo`` as authentication.k8s.io/v1 writes it."""
    out: Object = {"username": user.name}
    if user.uid:
        out["uid"] = user.uid
    out["groups"] = list(user.groups)
    if user.extra:
        out["extra"] = {key: list(values) for key, values in user.extra}
    return out


def _caller(request: web.Request) -> UserInfo:
    user = request.get("user")
    return user if isinstance(user, UserInfo) else anonymous()


def section(body: Object, key: str) -> Object:
    """``body[key]`` when it is an object, else an empty one (``spec``, ``metadata``)."""
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def _spec(body: Object) -> Object:
    return section(body, "spec")


class Reviews:
    """The create-only review resources of the authorization and authentication groups."""

    def __init__(self, authenticator: Authenticator | None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._authenticator = authenticator
        self._clock = clock
        self._answers: dict[str, Answer] = {
            "SelfSubjectAccessReview": self._self_subject_access,
            "SubjectAccessReview": self._subject_access,
            "LocalSubjectAccessReview": self._local_subject_access,
            "SelfSubjectRulesReview": self._self_subject_rules,
            "SelfSubjectReview": self._self_subject,
            "TokenReview": self._token,
        }

    async def create(self, request: web.Request, info: ResourceInfo,
                     ri: RequestInfo) -> web.StreamResponse:
        answer = self._answers.get(info.kind)
        if answer is None or ri.name or (info.namespaced and not ri.namespace):
            raise errors.StatusError(404, "NotFound",
                                     "the server could not find the requested resource")
        if request.method != "POST":
            raise errors.method_not_allowed(request.method, info.plural)
        body, warnings = await read_object(request, info)
        body.update(kind=info.kind, apiVersion=info.api_version)
        body["metadata"] = {"creationTimestamp": None, **section(body, "metadata")}
        body["status"] = answer(request, body, ri)
        return neg.json_response(body, 201, warning_headers(warnings))

    def _self_subject_access(self, request: web.Request, body: Object,
                             ri: RequestInfo) -> Object:
        _check_attributes(body, ri, "SelfSubjectAccessReview")
        return {"allowed": True, "reason": ALLOW_REASON}

    def _subject_access(self, request: web.Request, body: Object, ri: RequestInfo) -> Object:
        spec = _spec(body)
        if not spec.get("user") and not spec.get("groups"):
            raise _invalid("SubjectAccessReview", [errors.invalid(
                "spec.user", spec.get("user", ""), "at least one of user or group must be "
                "specified")])
        _check_attributes(body, ri, "SubjectAccessReview")
        return _allowed(str(spec.get("user") or ""), list(spec.get("groups") or []))

    def _local_subject_access(self, request: web.Request, body: Object,
                              ri: RequestInfo) -> Object:
        spec = _spec(body)
        if spec.get("nonResourceAttributes") is not None:
            raise _invalid("LocalSubjectAccessReview", [errors.invalid(
                "spec.nonResourceAttributes", spec["nonResourceAttributes"],
                "disallowed on this kind of request")])
        return self._subject_access(request, body, ri)

    def _self_subject_rules(self, request: web.Request, body: Object,
                            ri: RequestInfo) -> Object:
        if not _spec(body).get("namespace"):
            raise errors.bad_request("no namespace on request")
        return {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": False}

    def _self_subject(self, request: web.Request, body: Object, ri: RequestInfo) -> Object:
        body["metadata"]["creationTimestamp"] = now_rfc3339(self._clock())
        return {"userInfo": user_info(_caller(request))}

    def _token(self, request: web.Request, body: Object, ri: RequestInfo) -> Object:
        spec = _spec(body)
        token = spec.get("token")
        if not isinstance(token, str) or not token:
            raise errors.bad_request("token is required for TokenReview in authentication")
        if self._authenticator is None:
            return {"authenticated": False, "user": {},
                    "error": "token authentication is off on this server (--insecure-http)"}
        audiences = [str(a) for a in spec.get("audiences") or []]
        result = self._authenticator.authenticate_token(token, audiences=audiences)
        if result.user is None:
            return {"authenticated": False, "user": {}, "error": result.error}
        return {"authenticated": True, "user": user_info(result.user),
                "audiences": list(result.audiences)}


def _invalid(kind: str, causes: list[errors.FieldError]) -> errors.StatusError:
    return errors.invalid_object(kind, "", causes, "authorization.k8s.io")


def _check_attributes(body: Object, ri: RequestInfo, kind: str) -> None:
    spec = _spec(body)
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if resource is not None and non_resource is not None:
        raise _invalid(kind, [errors.invalid("spec.nonResourceAttributes", non_resource,
                                             "cannot be specified in combination with "
                                             "resourceAttributes")])
    if resource is None and non_resource is None:
        raise _invalid(kind, [errors.invalid("spec.resourceAttributes", None, _ATTRIBUTES)])
    namespace = (resource or {}).get("namespace", "") if isinstance(resource, dict) else ""
    if ri.namespace and namespace != ri.namespace:
        raise _invalid(kind, [errors.invalid("spec.resourceAttributes.namespace", namespace,
                                             "must match metadata.namespace")])


def _allowed(user: str, groups: list[str]) -> Object:
    """Until RBAC: a subject is allowed everything exactly when it is authenticated."""
    if user == ANONYMOUS_USER or SYSTEM_UNAUTHENTICATED in groups:
        return {"allowed": False, "reason": DENY_REASON}
    return {"allowed": True, "reason": ALLOW_REASON}
