"""API discovery documents, legacy and aggregated, built from the resource registry.

Legacy (``APIVersions``, ``APIGroupList``, ``APIGroup``, ``APIResourceList``) is what the
Python client, kopf and kr8s read; aggregated (``APIGroupDiscoveryList``, chosen by the
Accept header) saves kubectl one request per group-version. Documents are rebuilt only
when the registry changes (CRDs), tracked by ``generation``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from steersman.api.resources import Registry, ResourceInfo

Object = dict[str, Any]
AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str) -> str | None:
    """The aggregated content type to answer with, or None for legacy."""
    compact = accept.replace(" ", "")
    for part in compact.split(","):
        params = set(part.split(";")[1:])
        if "g=apidiscovery.k8s.io" in params and "as=APIGroupDiscoveryList" in params:
            if "v=v2" in params:
                return AGGREGATED_V2
            if "v=v2beta1" in params:
                return AGGREGATED_V2BETA1
    return None


def api_versions(server_address: str) -> Object:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def _group_entry(name: str, versions: list[str]) -> Object:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(registry: Registry) -> Object:
    groups = [_group_entry(g, vs) for g, vs in registry.group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, group: str) -> Object | None:
    versions = registry.group_versions().get(group)
    if not versions or not group:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def _storage_hash(info: ResourceInfo) -> str:
    digest = hashlib.sha256(f"{info.group}/{info.version}/{info.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _legacy_resource(info: ResourceInfo) -> list[Object]:
    main: Object = {"name": info.plural, "singularName": info.singular,
                    "namespaced": info.namespaced, "kind": info.kind,
                    "verbs": list(info.verbs), "storageVersionHash": _storage_hash(info)}
    if info.short_names:
        main["shortNames"] = list(info.short_names)
    if info.categories:
        main["categories"] = list(info.categories)
    entries = [main]
    for sub in info.subresources:
        entry: Object = {"name": f"{info.plural}/{sub.name}", "singularName": "",
                         "namespaced": info.namespaced, "kind": sub.kind or info.kind,
                         "verbs": list(sub.verbs)}
        if sub.group is not None:
            entry["group"] = sub.group
            entry["version"] = sub.version
        entries.append(entry)
    return entries


def api_resource_list(registry: Registry, group: str, version: str) -> Object | None:
    infos = registry.in_group_version(group, version)
    if not infos:
        return None
    resources = [entry for info in infos for entry in _legacy_resource(info)]
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}


def _aggregated_resource(info: ResourceInfo) -> Object:
    resource: Object = {
        "resource": info.plural,
        "responseKind": {"group": info.group, "version": info.version, "kind": info.kind},
        "scope": "Namespaced" if info.namespaced else "Cluster",
        "singularResource": info.singular, "verbs": list(info.verbs),
    }
    if info.short_names:
        resource["shortNames"] = list(info.short_names)
    if info.categories:
        resource["categories"] = list(info.categories)
    subs = [{"subresource": s.name,
             "responseKind": {"group": info.group if s.group is None else s.group,
                              "version": info.version if s.version is None else s.version,
                              "kind": s.kind or info.kind},
             "verbs": list(s.verbs)} for s in info.subresources]
    if subs:
        resource["subresources"] = subs
    return resource


def aggregated(registry: Registry, *, core: bool, content_type: str) -> Object:
    items = []
    for group, versions in registry.group_versions().items():
        if bool(group) == core:
            continue
        items.append({
            "metadata": {"name": group, "creationTimestamp": None},
            "versions": [{"version": v, "freshness": "Current", "resources": [
                _aggregated_resource(i) for i in registry.in_group_version(group, v)]}
                for v in versions],
        })
    version = "v2" if content_type == AGGREGATED_V2 else "v2beta1"
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": items}
