"""Ingress, IngressClass, NetworkPolicy and PodDisruptionBudget validation.

Follows kubernetes/kubernetes ``pkg/apis/networking/validation/validation.go`` and
``pkg/apis/policy/validation/validation.go``. Defaults: NetworkPolicy ports and ``policyTypes``
(``Ingress``, plus ``Egress`` when egress rules exist), as ``SetDefaults_NetworkPolicy``.
"""

from __future__ import annotations

from typing import Any

from steersman.api.errors import FieldError, forbidden, invalid, required
from steersman.api.strategies._base import (
    KindStrategy,
    ensure,
    items,
    mapping,
    validate_label_selector,
)
from steersman.api.strategies._fields import (
    check,
    immutable,
    invalid_shown,
    is_cidr,
    is_dns1035_label,
    is_dns1123_subdomain,
    is_ip,
    is_port_name,
    is_port_number,
    one_of,
)
from steersman.api.strategies.pods import set_default
from steersman.api.strategies.workloads import validate_int_or_percent
from steersman.api.strategy import Object

PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"]
POLICY_TYPES = ["Egress", "Ingress"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
EVICTION_POLICIES = ["AlwaysAllow", "IfHealthyBudget"]


class IngressStrategy(KindStrategy):
    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs: list[FieldError] = []
        rules = items(spec, "rules")
        if not rules and spec.get("defaultBackend") is None:
            errs.append(invalid_shown("spec", "networking.IngressSpec{...}",
                                      "either `defaultBackend` or `rules` must be specified"))
        if spec.get("ingressClassName"):
            errs += check("spec.ingressClassName", spec["ingressClassName"], is_dns1123_subdomain)
        if spec.get("defaultBackend") is not None:
            errs += _validate_backend(mapping(spec, "defaultBackend"), "spec.defaultBackend")
        for i, rule in enumerate(rules):
            errs += _validate_rule(rule if isinstance(rule, dict) else {}, f"spec.rules[{i}]")
        for i, tls in enumerate(items(spec, "tls")):
            for j, host in enumerate(items(tls, "hosts")):
                errs += _validate_host(host, f"spec.tls[{i}].hosts[{j}]")
        return errs


def _validate_rule(rule: dict[str, Any], path: str) -> list[FieldError]:
    errs = _validate_host(rule["host"], f"{path}.host") if rule.get("host") else []
    if rule.get("http") is None:
        return errs
    paths = items(mapping(rule, "http"), "paths")
    if not paths:
        return [*errs, required(f"{path}.http.paths")]
    for i, entry in enumerate(paths):
        errs += _validate_path(entry if isinstance(entry, dict) else {}, f"{path}.http.paths[{i}]")
    return errs


def _validate_host(host: Any, path: str) -> list[FieldError]:
    if isinstance(host, str) and is_ip(host):
        return [invalid(path, host, "must be a DNS name, not an IP address")]
    if isinstance(host, str) and host.startswith("*."):
        return check(path, host[2:], is_dns1123_subdomain)
    return check(path, host, is_dns1123_subdomain)


def _validate_path(entry: dict[str, Any], path: str) -> list[FieldError]:
    kind = entry.get("pathType")
    errs: list[FieldError] = []
    if not kind:
        errs.append(required(f"{path}.pathType", "pathType must be specified"))
    elif kind not in PATH_TYPES:
        errs += one_of(f"{path}.pathType", kind, PATH_TYPES)
    value = entry.get("path", "")
    if kind in ("Exact", "Prefix") and not str(value).startswith("/"):
        errs.append(invalid(f"{path}.path", value, "must be an absolute path"))
    return errs + _validate_backend(mapping(entry, "backend"), f"{path}.backend")


def _validate_backend(backend: dict[str, Any], path: str) -> list[FieldError]:
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        return [invalid_shown(path, "networking.IngressBackend{...}",
                              "cannot set both resource and service backends")]
    if service is None and resource is None:
        return [required(path, "one of `service` or `resource` is required")]
    if resource is not None:
        has_name = mapping(backend, "resource").get("name")
        return [] if has_name else [required(f"{path}.resource.name")]
    svc = mapping(backend, "service")
    errs = check(f"{path}.service.name", svc.get("name", ""), is_dns1035_label)
    port = mapping(svc, "port")
    if port.get("name") and port.get("number"):
        errs.append(invalid_shown(f"{path}.service.port", "networking.ServiceBackendPort{...}",
                                  "cannot set both port name & port number"))
    elif port.get("name"):
        errs += check(f"{path}.service.port.name", port["name"], is_port_name)
    elif port.get("number") is not None:
        errs += [invalid(f"{path}.service.port.number", port["number"], m)
                 for m in is_port_number(port["number"])]
    else:
        errs.append(required(f"{path}.service.port", "port name or number is required"))
    return errs


class IngressClassStrategy(KindStrategy):
    def validate_spec(self, obj: Object) -> list[FieldError]:
        controller = mapping(obj, "spec").get("controller")
        if not controller:
            return [required("spec.controller")]
        host, _, rest = str(controller).partition("/")
        if not rest:
            return [invalid("spec.controller", controller,
                            'must be a domain-prefixed path (such as "acme.io/foo")')]
        return check("spec.controller", host, is_dns1123_subdomain)

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        return immutable("spec.controller", mapping(new, "spec").get("controller"),
                         mapping(old, "spec").get("controller"))


class NetworkPolicyStrategy(KindStrategy):
    def default(self, obj: Object) -> None:
        spec = ensure(obj, "spec")
        for direction in ("ingress", "egress"):
            for rule in items(spec, direction):
                for port in items(rule, "ports"):
                    if isinstance(port, dict):
                        set_default(port, "protocol", "TCP")
        if not spec.get("policyTypes"):
            spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]

    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs = validate_label_selector(spec.get("podSelector", {}), "spec.podSelector")
        for i, kind in enumerate(items(spec, "policyTypes")):
            errs += one_of(f"spec.policyTypes[{i}]", kind, POLICY_TYPES)
        for direction, peers_key in (("ingress", "from"), ("egress", "to")):
            for i, rule in enumerate(items(spec, direction)):
                at = f"spec.{direction}[{i}]"
                errs += _validate_policy_ports(items(rule, "ports"), f"{at}.ports")
                for j, peer in enumerate(items(rule, peers_key)):
                    errs += _validate_peer(peer if isinstance(peer, dict) else {},
                                           f"{at}.{peers_key}[{j}]")
        return errs


def _validate_policy_ports(ports: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, port in enumerate(ports):
        at = f"{path}[{i}]"
        port = port if isinstance(port, dict) else {}
        errs += one_of(f"{at}.protocol", port.get("protocol"), PROTOCOLS)
        value, end = port.get("port"), port.get("endPort")
        if isinstance(value, str):
            errs += check(f"{at}.port", value, is_port_name)
        elif value is not None:
            errs += [invalid(f"{at}.port", value, m) for m in is_port_number(value)]
        if end is not None:
            if not isinstance(value, int):
                errs.append(required(f"{at}.port", "must specify `port` when `endPort` is set"))
            elif not isinstance(end, int) or end < value:
                errs.append(invalid(f"{at}.endPort", end,
                                    "must be greater than or equal to `port`"))
    return errs


def _validate_peer(peer: dict[str, Any], path: str) -> list[FieldError]:
    selectors = [k for k in ("podSelector", "namespaceSelector") if peer.get(k) is not None]
    block = peer.get("ipBlock")
    if block is not None and selectors:
        return [forbidden(path, "may not specify both ipBlock and another peer")]
    if block is None and not selectors:
        return [required(path, "must specify a peer")]
    errs: list[FieldError] = []
    for key in selectors:
        errs += validate_label_selector(peer[key], f"{path}.{key}")
    if block is not None:
        cidr = mapping(peer, "ipBlock").get("cidr", "")
        if not cidr:
            errs.append(required(f"{path}.ipBlock.cidr"))
        elif not is_cidr(str(cidr)):
            errs.append(invalid(f"{path}.ipBlock.cidr", cidr, "must be a valid CIDR"))
    return errs


class PodDisruptionBudgetStrategy(KindStrategy):
    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs: list[FieldError] = []
        if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
            errs.append(invalid_shown("spec", "policy.PodDisruptionBudgetSpec{...}",
                                      "minAvailable and maxUnavailable cannot be both set"))
        for key in ("minAvailable", "maxUnavailable"):
            errs += validate_int_or_percent(spec.get(key), f"spec.{key}")
        errs += validate_label_selector(spec.get("selector"), "spec.selector")
        return errs + one_of("spec.unhealthyPodEvictionPolicy",
                             spec.get("unhealthyPodEvictionPolicy"), EVICTION_POLICIES,
                             required_=False)
