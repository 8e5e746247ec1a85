"""Parse a request path into what it addresses (kube-apiserver's ``RequestInfoFactory``).

``/api/v1/namespaces/ns/pods/p/status`` → group "", version v1, namespace ns, resource pods,
name p, subresource status. Namespaces themselves are a resource:
``/api/v1/namespaces/ns`` addresses the namespace ``ns``, and
``/api/v1/namespaces/ns/status`` its status.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestInfo:
    group: str
    version: str
    resource: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""


def parse_resource_path(path: str) -> RequestInfo | None:
    """None when ``path`` is not a resource path (discovery, health, openapi …)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    return _resource_parts(group, version, rest)


def _resource_parts(group: str, version: str, rest: list[str]) -> RequestInfo | None:
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
        if rest[0] in ("status", "finalize") and len(rest) == 1:
            return RequestInfo(group, version, "namespaces", "", namespace, rest[0])
    if len(rest) > 3:
        return None
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    return RequestInfo(group, version, resource, namespace, name, subresource)
