"""The OpenAPI documents kube-apiserver serves, derived from the registry and the definitions.

``/openapi/v3`` is an index of one document per group-version (:func:`openapi_v3_index`);
``/openapi/v3/api/v1`` and ``/openapi/v3/apis/<group>/<version>`` are those documents
(:func:`openapi_v3_document`): the collection, item and subresource paths of every resource
of the group-version, with the operations, ``x-kubernetes-action`` and
``x-kubernetes-group-version-kind`` extensions and query parameters kubectl looks for (PATCH,
PUT and POST declare ``fieldValidation``, so ``kubectl apply`` leaves validation to the
server), and ``components.schemas`` holding every definition those paths reach, converted
from :mod:`steersman.api.schema`'s JSON Schema to the OpenAPI form kube-apiserver emits.
``kubectl explain`` reads these schemas. Custom resources get the same shape from each CRD
version's ``openAPIV3Schema`` (:func:`crd_openapi_v3_document`). ``/openapi/v2`` as JSON is
:func:`openapi_v2_document` (Swagger 2.0).

Documents are plain dicts that share converted definitions: callers must not mutate them.
They are large, so the HTTP layer builds each once per registry generation through an
:class:`OpenAPICache`, serialises it once (:func:`serialize`) and serves the bytes with the
hash (:func:`document_hash`) the index advertises.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from steersman.api import schema as definitions
from steersman.api.resources import Registry, ResourceInfo, Subresource

Schema = dict[str, Any]
T = TypeVar("T")

V3_REF = "#/components/schemas/"
V2_REF = "#/definitions/"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
_INFO = {"title": "Kubernetes", "version": definitions.KUBERNETES_SCHEMA_VERSION}
_API_VERSION_DOC = (
    "APIVersion defines the versioned schema of this representation of an object. Servers "
    "should convert recognized schemas to the latest internal value, and may reject "
    "unrecognized values. More info: https://git.k8s.io/community/contributors/devel/"
    "sig-architecture/api-conventions.md#resources"
)
_KIND_DOC = (
    "Kind is a string value representing the REST resource this object represents. Servers "
    "may infer this from the endpoint the client submits requests to. Cannot be updated. In "
    "CamelCase. More info: https://git.k8s.io/community/contributors/devel/"
    "sig-architecture/api-conventions.md#types-kinds"
)
# kube-apiserver's own forms of the two scalar unions (kubernetes-validate widens them and
# drops their descriptions); v2 has no oneOf, so there they are strings with a format.
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_V3_OVERRIDES: dict[str, Schema] = {
    _INT_OR_STRING: {
        "description": "IntOrString is a type that can hold an int32 or a string.",
        "format": "int-or-string",
        "oneOf": [{"type": "integer"}, {"type": "string"}],
    },
    _QUANTITY: {
        "description": "Quantity is a fixed-point representation of a number.",
        "oneOf": [{"type": "string"}, {"type": "number"}],
    },
}
_V2_OVERRIDES: dict[str, Schema] = {
    _INT_OR_STRING: {"description": _V3_OVERRIDES[_INT_OR_STRING]["description"],
                     "format": "int-or-string", "type": "string"},
    _QUANTITY: {"description": _V3_OVERRIDES[_QUANTITY]["description"], "type": "string"},
}


# --- schema conversion --------------------------------------------------------------------


def convert_schema(schema: Schema, *, ref_prefix: str = V3_REF) -> Schema:
    """One JSON Schema node in OpenAPI form: single ``type``, refs under ``ref_prefix``.

    ``["string", "null"]`` becomes ``"string"``; a ``$ref`` with siblings (a description)
    becomes ``allOf: [{"$ref": …}]`` beside them in v3, and keeps its siblings in v2, as
    kube-apiserver writes them. Extensions, ``format``, ``required`` and ``enum`` are kept.
    """
    out: Schema = {}
    for key, value in schema.items():
        if key != "$ref":
            _convert_key(out, key, value, ref_prefix)
    name = definitions.ref_name(schema)
    if name is None:
        return out
    ref = {"$ref": ref_prefix + name}
    if not out:
        return ref
    return {"allOf": [ref], **out} if ref_prefix == V3_REF else {**ref, **out}


def _convert_key(out: Schema, key: str, value: Any, ref_prefix: str) -> None:
    if key == "type":
        out.update(_openapi_type(value))
    elif key == "properties" and isinstance(value, dict):
        out[key] = {name: convert_schema(sub, ref_prefix=ref_prefix)
                    for name, sub in value.items()}
    elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
        out[key] = convert_schema(value, ref_prefix=ref_prefix)
    elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
        out[key] = [convert_schema(sub, ref_prefix=ref_prefix) for sub in value]
    else:
        out[key] = value


def _openapi_type(declared: Any) -> Schema:
    if isinstance(declared, str):
        return {"type": declared}
    kinds = [kind for kind in declared if kind != "null"]
    if len(kinds) == 1:
        return {"type": kinds[0]}
    return {"anyOf": [{"type": kind} for kind in kinds]} if kinds else {}


@functools.cache
def converted_definition(name: str, ref_prefix: str = V3_REF) -> Schema:
    """The definition ``name`` converted once for ``ref_prefix`` (shared: do not mutate)."""
    overrides = _V3_OVERRIDES if ref_prefix == V3_REF else _V2_OVERRIDES
    if name in overrides:
        return overrides[name]
    raw = definitions.definitions()[name]
    converted = convert_schema(raw, ref_prefix=ref_prefix)
    if "x-kubernetes-group-version-kind" in raw:
        # kubernetes-validate pins apiVersion and kind to enums for its own validation;
        # kube-apiserver's documents do not, and kubectl explain would print them.
        for key in ("apiVersion", "kind"):
            converted.get("properties", {}).get(key, {}).pop("enum", None)
    return converted


def _referenced_names(node: Any, prefix: str, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(prefix):
            found.add(ref[len(prefix):])
        for value in node.values():
            _referenced_names(value, prefix, found)
    elif isinstance(node, list):
        for value in node:
            _referenced_names(value, prefix, found)


def _definition_closure(roots: Iterable[str]) -> list[str]:
    """Every built-in definition reachable from ``roots`` through ``$ref``, sorted."""
    known = definitions.definitions()
    pending = [name for name in roots if name in known]
    seen: set[str] = set(pending)
    while pending:
        found: set[str] = set()
        _referenced_names(known[pending.pop()], "#/$defs/", found)
        pending.extend(found - seen)
        seen |= found
    return sorted(seen)


def _components(paths: Any, local: Mapping[str, Schema], ref_prefix: str) -> dict[str, Schema]:
    names: set[str] = set()
    _referenced_names(paths, ref_prefix, names)
    _referenced_names(dict(local), ref_prefix, names)
    schemas = {name: converted_definition(name, ref_prefix) for name in
               _definition_closure(names - set(local))}
    schemas.update(local)
    return dict(sorted(schemas.items()))


# --- paths --------------------------------------------------------------------------------

KindRef = Callable[[str, str, str], str | None]

_MEDIA = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
_WATCH_MEDIA = (*_MEDIA, "application/json;stream=watch",
                "application/vnd.kubernetes.protobuf;stream=watch")
_PATCH_MEDIA = ("application/apply-patch+yaml", "application/json-patch+json",
                "application/merge-patch+json", "application/strategic-merge-patch+json")
_CUSTOM_PATCH_MEDIA = _PATCH_MEDIA[:3]
_PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
_STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
_DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
_CONNECT_SUBRESOURCES = frozenset({"attach", "exec", "portforward", "proxy"})

_QUERY: dict[str, tuple[str, str]] = {
    "allowWatchBookmarks": ("boolean", "allowWatchBookmarks requests watch events with type "
                            "\"BOOKMARK\"."),
    "continue": ("string", "The continue option should be set when retrieving more results from "
                 "the server."),
    "dryRun": ("string", "When present, indicates that modifications should not be persisted. "
               "Valid values are: - All: all dry run stages will be processed"),
    "fieldManager": ("string", "fieldManager is a name associated with the actor or entity that "
                     "is making these changes."),
    "fieldSelector": ("string", "A selector to restrict the list of returned objects by their "
                      "fields. Defaults to everything."),
    "fieldValidation": ("string", "fieldValidation instructs the server on how to handle objects "
                        "in the request (POST/PUT/PATCH) containing unknown or duplicate fields. "
                        "Valid values are: Ignore, Warn (the default) and Strict."),
    "force": ("boolean", "Force is going to \"force\" Apply requests. Force flag must be unset "
              "for non-apply patch requests."),
    "gracePeriodSeconds": ("integer", "The duration in seconds before the object should be "
                           "deleted."),
    "ignoreStoreReadErrorWithClusterBreakingPotential": (
        "boolean", "if set to true, it will trigger an unsafe deletion of the resource in case "
        "the normal deletion flow fails with a corrupt object error."),
    "labelSelector": ("string", "A selector to restrict the list of returned objects by their "
                      "labels. Defaults to everything."),
    "limit": ("integer", "limit is a maximum number of responses to return for a list call."),
    "orphanDependents": ("boolean", "Deprecated: please use the PropagationPolicy, this field "
                         "will be deprecated in 1.7."),
    "pretty": ("string", "If 'true', then the output is pretty printed."),
    "propagationPolicy": ("string", "Whether and how garbage collection will be performed. "
                          "Acceptable values are: 'Orphan', 'Background', 'Foreground'."),
    "resourceVersion": ("string", "resourceVersion sets a constraint on what resource versions "
                        "a request may be served from."),
    "resourceVersionMatch": ("string", "resourceVersionMatch determines how resourceVersion is "
                             "applied to list calls."),
    "sendInitialEvents": ("boolean", "`sendInitialEvents=true` may be set together with "
                          "`watch=true`; the watch stream then begins with synthetic events."),
    "timeoutSeconds": ("integer", "Timeout for the list/watch call."),
    "watch": ("boolean", "Watch for changes to the described resources and return them as a "
              "stream of add, update, and remove notifications."),
}
_LIST_PARAMS = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
                "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds",
                "watch")
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_PATCH_PARAMS = (*_WRITE_PARAMS, "force")
_DELETE_PARAMS = ("dryRun", "gracePeriodSeconds",
                  "ignoreStoreReadErrorWithClusterBreakingPotential", "orphanDependents",
                  "propagationPolicy")
_DELETE_COLLECTION_PARAMS = tuple(sorted(
    {*_DELETE_PARAMS, *_LIST_PARAMS} - {"allowWatchBookmarks", "watch"}))


@dataclass(frozen=True, slots=True)
class _Target:
    """What a path's operations act on: the kind, its schemas and the names upstream uses."""

    gvk: dict[str, str]
    schema: Schema
    list_schema: Schema
    tag: str
    op_name: str
    custom: bool


def _schema_ref(name: str | None) -> Schema:
    return {"$ref": V3_REF + name} if name else {"type": "object"}


def _camel_group(group: str) -> str:
    if not group:
        return "Core"
    parts = group.removesuffix(".k8s.io").split(".")
    return "".join(part[:1].upper() + part[1:] for part in parts)


def _target(info: ResourceInfo, kind_ref: KindRef, sub: Subresource | None = None) -> _Target:
    group = sub.group if sub and sub.group is not None else info.group
    version = sub.version if sub and sub.version is not None else info.version
    kind = sub.kind if sub else info.kind
    camel = _camel_group(info.group)
    scope = "Namespaced" if info.namespaced else ""
    suffix = sub.name.title() if sub else ""
    return _Target(
        gvk={"group": group, "kind": kind, "version": version},
        schema=_schema_ref(kind_ref(group, version, kind)),
        list_schema=_schema_ref(kind_ref(group, version, info.kind_list)),
        tag=f"{camel[:1].lower()}{camel[1:]}_{info.version}",
        op_name=f"{camel}{info.version.title()}{scope}{info.kind}{suffix}",
        custom=info.crd is not None,
    )


def _query_parameter(name: str) -> Schema:
    kind, description = _QUERY[name]
    return {"description": description, "in": "query", "name": name,
            "schema": {"type": kind, "uniqueItems": True}}


def _path_parameters(*, named: bool, namespaced: bool, kind: str) -> list[Schema]:
    params: list[Schema] = []
    if named:
        params.append({"description": f"name of the {kind}", "in": "path", "name": "name",
                       "required": True, "schema": {"type": "string", "uniqueItems": True}})
    if namespaced:
        params.append({"description": "object name and auth scope, such as for teams and "
                       "projects", "in": "path", "name": "namespace", "required": True,
                       "schema": {"type": "string", "uniqueItems": True}})
    return [*params, _query_parameter("pretty")]


def _content(media: Iterable[str], schema: Schema) -> dict[str, Any]:
    return {m: {"schema": schema} for m in media}


_CODES = {"200": "OK", "201": "Created", "202": "Accepted"}


def _responses(codes: Iterable[str], schema: Schema,
               media: Sequence[str] = _MEDIA) -> dict[str, Any]:
    out: dict[str, Any] = {code: {"content": _content(media, schema),
                                  "description": _CODES[code]} for code in codes}
    out["401"] = {"description": "Unauthorized"}
    return out


def _operation(t: _Target, *, action: str, op_id: str, description: str,
               params: Sequence[str] = (), body: Schema | None = None,
               responses: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"description": description, "operationId": op_id}
    if params:
        op["parameters"] = [_query_parameter(name) for name in params]
    if body is not None:
        op["requestBody"] = {"content": body, "required": True}
    op.update({"responses": responses, "tags": [t.tag], "x-kubernetes-action": action,
               "x-kubernetes-group-version-kind": t.gvk})
    return op


def _create(t: _Target, what: str) -> dict[str, Any]:
    return _operation(t, action="post", op_id=f"create{t.op_name}", description=f"create {what}",
                      params=_WRITE_PARAMS, body=_content(["*/*"], t.schema),
                      responses=_responses(("200", "201", "202"), t.schema))


def _read(t: _Target, what: str) -> dict[str, Any]:
    return _operation(t, action="get", op_id=f"read{t.op_name}", description=f"read {what}",
                      responses=_responses(("200",), t.schema))


def _replace(t: _Target, what: str) -> dict[str, Any]:
    return _operation(t, action="put", op_id=f"replace{t.op_name}",
                      description=f"replace {what}", params=_WRITE_PARAMS,
                      body=_content(["*/*"], t.schema),
                      responses=_responses(("200", "201"), t.schema))


def _patch(t: _Target, what: str) -> dict[str, Any]:
    media = _CUSTOM_PATCH_MEDIA if t.custom else _PATCH_MEDIA
    return _operation(t, action="patch", op_id=f"patch{t.op_name}",
                      description=f"partially update {what}", params=_PATCH_PARAMS,
                      body=_content(media, _schema_ref(_PATCH)),
                      responses=_responses(("200", "201"), t.schema))


def _delete(t: _Target, what: str) -> dict[str, Any]:
    return _operation(t, action="delete", op_id=f"delete{t.op_name}",
                      description=f"delete {what}", params=_DELETE_PARAMS,
                      body=_content(["*/*"], _schema_ref(_DELETE_OPTIONS)),
                      responses=_responses(("200", "202"), _schema_ref(_STATUS)))


def _collection_item(t: _Target, info: ResourceInfo) -> dict[str, Any]:
    kind = info.kind
    item: dict[str, Any] = {}
    if "deletecollection" in info.verbs:
        item["delete"] = _operation(
            t, action="deletecollection", op_id=f"deleteCollection{t.op_name}",
            description=f"delete collection of {kind}", params=_DELETE_COLLECTION_PARAMS,
            body=_content(["*/*"], _schema_ref(_DELETE_OPTIONS)),
            responses=_responses(("200",), _schema_ref(_STATUS)))
    if "list" in info.verbs:
        item["get"] = _list(t, f"list{t.op_name}", kind)
    item["parameters"] = _path_parameters(named=False, namespaced=info.namespaced, kind=kind)
    if "create" in info.verbs:
        item["post"] = _create(t, f"a {kind}")
    return item


def _list(t: _Target, op_id: str, kind: str) -> dict[str, Any]:
    return _operation(t, action="list", op_id=op_id,
                      description=f"list or watch objects of kind {kind}", params=_LIST_PARAMS,
                      responses=_responses(("200",), t.list_schema, _WATCH_MEDIA))


def _object_item(t: _Target, info: ResourceInfo) -> dict[str, Any]:
    what = f"the specified {info.kind}"
    item: dict[str, Any] = {}
    if "delete" in info.verbs:
        item["delete"] = _delete(t, f"a {info.kind}")
    if "get" in info.verbs:
        item["get"] = _read(t, what)
    item["parameters"] = _path_parameters(named=True, namespaced=info.namespaced, kind=info.kind)
    if "patch" in info.verbs:
        item["patch"] = _patch(t, what)
    if "update" in info.verbs:
        item["put"] = _replace(t, what)
    return item


def _subresource_item(t: _Target, info: ResourceInfo, sub: Subresource) -> dict[str, Any]:
    what = f"{sub.name} of the specified {info.kind}"
    item: dict[str, Any] = {}
    if sub.name in _CONNECT_SUBRESOURCES or sub.name == "log":
        item.update(_text_operations(t, info, sub))
    elif "get" in sub.verbs:
        item["get"] = _read(t, what)
    item["parameters"] = _path_parameters(named=True, namespaced=info.namespaced, kind=info.kind)
    if "patch" in sub.verbs:
        item["patch"] = _patch(t, what)
    if "create" in sub.verbs and sub.name not in _CONNECT_SUBRESOURCES:
        item["post"] = _create(t, f"{sub.name} of a {info.kind}")
    if "update" in sub.verbs:
        item["put"] = _replace(t, what)
    return dict(sorted(item.items()))


def _text_operations(t: _Target, info: ResourceInfo, sub: Subresource) -> dict[str, Any]:
    """``log`` reads text; exec, attach, portforward and proxy are connect operations."""
    text = _responses(("200",), {"type": "string"}, ("*/*",))
    if sub.name == "log":
        return {"get": _operation(t, action="get", op_id=f"read{t.op_name}",
                                  description=f"read log of the specified {info.kind}",
                                  responses=text)}
    methods = {"get": "Get", "post": "Post"} if "create" in sub.verbs else {"get": "Get"}
    return {method: _operation(t, action="connect", op_id=f"connect{word}{t.op_name}",
                               description=f"connect {method.upper()} requests to {sub.name} "
                                           f"of {info.kind}", responses=text)
            for method, word in methods.items()}


def _resource_routes(info: ResourceInfo, kind_ref: KindRef) -> dict[str, dict[str, Any]]:
    """Every path of one resource: collection, object, all-namespaces list, subresources."""
    base = "/" + gv_path(info.group, info.version)
    collection = f"{base}{'/namespaces/{namespace}' if info.namespaced else ''}/{info.plural}"
    target = _target(info, kind_ref)
    routes = {collection: _collection_item(target, info),
              collection + "/{name}": _object_item(target, info)}
    if info.namespaced and "list" in info.verbs:
        routes[f"{base}/{info.plural}"] = {
            "get": _list(target, f"list{target.op_name.replace('Namespaced', '', 1)}"
                                 "ForAllNamespaces", info.kind),
            "parameters": [_query_parameter("pretty")],
        }
    for sub in info.subresources:
        routes[f"{collection}/{{name}}/{sub.name}"] = _subresource_item(
            _target(info, kind_ref, sub), info, sub)
    return {path: item for path, item in routes.items() if set(item) - {"parameters"}}


# --- documents ----------------------------------------------------------------------------


def gv_path(group: str, version: str) -> str:
    """The index key and URL tail of a group-version: ``api/v1``, ``apis/apps/v1``."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_index(registry: Registry, *, hashes: Mapping[str, str]) -> dict[str, Any]:
    """``GET /openapi/v3``: one entry per served group-version, keyed by :func:`gv_path`.

    ``hashes`` maps those keys to :func:`document_hash` of the served bytes; kubectl caches
    a document by its URL, so the hash changes whenever the document does.
    """
    paths: dict[str, Any] = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            key = gv_path(group, version)
            url = f"/openapi/v3/{key}"
            if key in hashes:
                url += f"?hash={hashes[key]}"
            paths[key] = {"serverRelativeURL": url}
    return {"paths": dict(sorted(paths.items()))}


def openapi_v3_document(registry: Registry, group: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.0 document of one group-version (built-in and custom resources)."""
    infos = registry.in_group_version(group, version)
    local = _crd_schemas(info for info in infos if info.crd is not None)
    paths = _v3_paths(infos)
    return {
        "openapi": "3.0.0",
        "info": dict(_INFO),
        "paths": paths,
        "components": {"schemas": _components(paths, local, V3_REF)},
    }


def crd_openapi_v3_document(infos: Iterable[ResourceInfo]) -> dict[str, Any]:
    """The OpenAPI 3.0 document of one group-version of custom resources.

    Each ``info.crd`` is ``{"schema": <openAPIV3Schema of that version>, ...}`` (other keys
    are ignored; a missing schema means "any object"). The kind's schema is named like
    kube-apiserver names it (``com.example.v1.Widget`` for group ``example.com``), gains
    ``apiVersion``, ``kind``, ``metadata`` (a ref to ObjectMeta) and
    ``x-kubernetes-group-version-kind``, and a ``<Kind>List`` schema is added beside it.
    """
    infos = list(infos)
    paths = _v3_paths(infos)
    return {
        "openapi": "3.0.0",
        "info": dict(_INFO),
        "paths": paths,
        "components": {"schemas": _components(paths, _crd_schemas(infos), V3_REF)},
    }


def _v3_paths(infos: Iterable[ResourceInfo]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for info in infos:
        paths.update(_resource_routes(info, _kind_ref(info)))
    return dict(sorted(paths.items()))


def _kind_ref(info: ResourceInfo) -> KindRef:
    """Resolve a (group, version, kind) to its schema name, custom kinds of ``info`` first."""

    def resolve(group: str, version: str, kind: str) -> str | None:
        own = info.crd is not None and (group, version) == (info.group, info.version)
        if own and kind in (info.kind, info.kind_list):
            return crd_definition_name(group, version, kind)
        return definitions.definition_name(group, version, kind)

    return resolve


def openapi_v2_document(registry: Registry) -> dict[str, Any]:
    """``GET /openapi/v2`` as JSON: Swagger 2.0 with every served path and its definitions."""
    infos = list(registry)
    paths = {path: _v2_path_item(item) for path, item in _v3_paths(infos).items()}
    local = {name: _v2_crd_schema(body) for name, body in
             _crd_schemas(info for info in infos if info.crd is not None).items()}
    rewritten = _rewrite_refs(paths, V3_REF, V2_REF)
    return {
        "swagger": "2.0",
        "info": dict(_INFO),
        "paths": rewritten,
        "definitions": _components(rewritten, _rewrite_refs(local, V3_REF, V2_REF), V2_REF),
    }


def _v2_path_item(item: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key == "parameters":
            out[key] = [_v2_parameter(p) for p in value]
        else:
            out[key] = _v2_operation(value)
    return out


def _v2_operation(op: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in op.items() if k not in ("parameters", "requestBody", "responses")}
    parameters = [_v2_parameter(p) for p in op.get("parameters", ())]
    body = op.get("requestBody")
    if body is not None:
        content = body["content"]
        out["consumes"] = list(content)
        first = next(iter(content.values()))
        parameters.insert(0, {"in": "body", "name": "body", "required": True,
                              "schema": first["schema"]})
    if parameters:
        out["parameters"] = parameters
    out["produces"] = ["application/json", "application/yaml",
                       "application/vnd.kubernetes.protobuf"]
    out["responses"] = {code: _v2_response(r) for code, r in op["responses"].items()}
    out["schemes"] = ["https"]
    return out


def _v2_parameter(parameter: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in parameter.items() if k != "schema"}
    out.update(parameter.get("schema", {}))
    return out


def _v2_response(response: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": response["description"]}
    content = response.get("content")
    if content:
        out["schema"] = next(iter(content.values()))["schema"]
    return out


def _rewrite_refs(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        return {k: (new + v[len(old):] if k == "$ref" and isinstance(v, str)
                    and v.startswith(old) else _rewrite_refs(v, old, new))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(v, old, new) for v in node]
    return node


# --- custom resources ---------------------------------------------------------------------


def crd_definition_name(group: str, version: str, kind: str) -> str:
    """``("stable.example.com", "v1", "CronTab")`` -> ``"com.example.stable.v1.CronTab"``."""
    return ".".join([*reversed(group.split(".")), version, kind])


def _crd_schemas(infos: Iterable[ResourceInfo]) -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    for info in infos:
        crd = info.crd or {}
        body = crd.get("schema") or {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        out[crd_definition_name(info.group, info.version, info.kind)] = _crd_kind_schema(info, body)
        out[crd_definition_name(info.group, info.version, info.kind_list)] = _crd_list_schema(info)
    return out


def _gvk(info: ResourceInfo, kind: str) -> list[dict[str, str]]:
    return [{"group": info.group, "kind": kind, "version": info.version}]


def _type_meta() -> dict[str, Schema]:
    return {"apiVersion": {"description": _API_VERSION_DOC, "type": "string"},
            "kind": {"description": _KIND_DOC, "type": "string"}}


def _crd_kind_schema(info: ResourceInfo, body: Schema) -> Schema:
    properties = dict(body.get("properties") or {})
    properties.update(_type_meta())
    properties["metadata"] = {
        "allOf": [{"$ref": V3_REF + _OBJECT_META}],
        "description": "Standard object's metadata. More info: https://git.k8s.io/community/"
                       "contributors/devel/sig-architecture/api-conventions.md#metadata",
    }
    return {**body, "properties": dict(sorted(properties.items())), "type": "object",
            "x-kubernetes-group-version-kind": _gvk(info, info.kind)}


def _crd_list_schema(info: ResourceInfo) -> Schema:
    item_ref = V3_REF + crd_definition_name(info.group, info.version, info.kind)
    properties = _type_meta()
    properties["items"] = {
        "description": f"List of {info.plural}. More info: https://git.k8s.io/community/"
                       "contributors/devel/api-conventions.md",
        "items": {"$ref": item_ref}, "type": "array",
    }
    properties["metadata"] = {"allOf": [{"$ref": V3_REF + _LIST_META}],
                              "description": "Standard list metadata."}
    return {"description": f"{info.kind_list} is a list of {info.kind}",
            "properties": dict(sorted(properties.items())), "required": ["items"],
            "type": "object", "x-kubernetes-group-version-kind": _gvk(info, info.kind_list)}


_V2_UNSUPPORTED = frozenset({"allOf", "oneOf", "anyOf", "not", "nullable"})


def _v2_crd_schema(node: Any) -> Any:
    """Drop what Swagger 2.0 cannot say, as kube-apiserver does for CRDs in ``/openapi/v2``;
    a v3 ``allOf: [{"$ref": …}]`` becomes the v2 ``$ref`` with its siblings."""
    if isinstance(node, dict):
        out = {k: _v2_crd_schema(v) for k, v in node.items() if k not in _V2_UNSUPPORTED}
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]:
            out = {"$ref": all_of[0]["$ref"], **out}
        return out
    if isinstance(node, list):
        return [_v2_crd_schema(v) for v in node]
    return node


# --- serving ------------------------------------------------------------------------------


def document_hash(doc_bytes: bytes) -> str:
    """The ``?hash=`` of a served document: uppercase hex SHA-512, as kube-openapi computes."""
    return hashlib.sha512(doc_bytes).hexdigest().upper()[:128]


@dataclass(frozen=True, slots=True)
class SerializedDocument:
    body: bytes
    hash: str


def serialize(document: Mapping[str, Any]) -> SerializedDocument:
    body = orjson.dumps(document)
    return SerializedDocument(body, document_hash(body))


class OpenAPICache(Generic[T]):
    """Values built once per registry generation; a new generation drops all older ones.

    ``cache.get(generation, "apis/apps/v1", build)`` returns the value built for that key
    at that generation, calling ``build`` only the first time. The registry owner bumps
    the generation whenever it adds or removes a resource (a CRD is established or deleted).
    """

    def __init__(self) -> None:
        self._generation: int | None = None
        self._values: dict[str, T] = {}

    def get(self, generation: int, key: str, build: Callable[[], T]) -> T:
        if generation != self._generation:
            self._generation = generation
            self._values = {}
        if key not in self._values:
            self._values[key] = build()
        return self._values[key]

