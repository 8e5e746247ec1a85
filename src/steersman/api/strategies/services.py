"""Services, Endpoints and EndpointSlices: defaults and validation.

Defaults follow kubernetes/kubernetes ``pkg/apis/core/v1/defaults.go`` (``SetDefaults_Service``)
plus what the service registry fills in (``ipFamilies``/``ipFamilyPolicy`` single-stack IPv4,
``status.loadBalancer: {}``). ClusterIP and NodePort allocation is the API server's job; when
it handles an update that omits them (``kubectl replace``), it calls
:func:`patch_allocated_values` first, as the upstream REST layer does. Validation follows
``ValidateService``/``ValidateServiceUpdate``: a Service's name is a DNS-1035 label.
"""

from __future__ import annotations

from typing import Any

from steersman.api.errors import FieldError, duplicate, forbidden, invalid, required
from steersman.api.strategies._base import KindStrategy, ensure, items, mapping, validate_labels
from steersman.api.strategies._fields import (
    check,
    check_port_num_or_name,
    go_value,
    immutable,
    invalid_shown,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_ip,
    is_port_number,
    one_of,
)
from steersman.api.strategies.pods import set_default
from steersman.api.strategy import Object

SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
NODE_PORT_RANGE = (30000, 32767)
ADDRESS_TYPES = ["IPv4", "IPv6", "FQDN"]


def default_service(svc: Object) -> None:
    spec = ensure(svc, "spec")
    set_default(spec, "type", "ClusterIP")
    set_default(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        client_ip = ensure(ensure(spec, "sessionAffinityConfig"), "clientIP")
        set_default(client_ip, "timeoutSeconds", 10800)
    for port in items(spec, "ports"):
        if isinstance(port, dict):
            set_default(port, "protocol", "TCP")
            if port.get("targetPort") in (None, "", 0):
                port["targetPort"] = port.get("port")
    kind = spec["type"]
    if kind in ("NodePort", "LoadBalancer"):
        set_default(spec, "externalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        set_default(spec, "allocateLoadBalancerNodePorts", True)
    if kind != "ExternalName":
        set_default(spec, "internalTrafficPolicy", "Cluster")
        set_default(spec, "ipFamilyPolicy", "SingleStack")
        set_default(spec, "ipFamilies", ["IPv4"])
    ensure(ensure(svc, "status"), "loadBalancer")


def patch_allocated_values(new: Object, old: Object) -> None:
    """Keep the old ClusterIP(s) and NodePorts when an update leaves them out."""
    new_spec, old_spec = ensure(new, "spec"), mapping(old, "spec")
    if _needs_cluster_ip(new_spec) and _needs_cluster_ip(old_spec):
        for key in ("clusterIP", "clusterIPs"):
            if not new_spec.get(key) and old_spec.get(key):
                new_spec[key] = old_spec[key]
    if new_spec.get("type") not in ("NodePort", "LoadBalancer"):
        return
    old_ports = {_port_key(p): p.get("nodePort") for p in items(old_spec, "ports")
                 if isinstance(p, dict)}
    for port in items(new_spec, "ports"):
        if isinstance(port, dict) and not port.get("nodePort") and old_ports.get(_port_key(port)):
            port["nodePort"] = old_ports[_port_key(port)]


def drop_type_dependent_fields(new: dict[str, Any], old: dict[str, Any]) -> None:
    """A type change clears what only the old type used, unless the update set it anew.

    Upstream ``dropTypeDependentFields`` (pkg/registry/core/service/strategy.go): turning a
    LoadBalancer into a ClusterIP Service must not fail validation on the
    ``externalTrafficPolicy`` or node ports it still carries from before.
    """
    kind = new.get("type", "ClusterIP")
    if kind == old.get("type", "ClusterIP"):
        return
    external = kind in ("NodePort", "LoadBalancer")
    if not external and _same(new, old, "externalTrafficPolicy"):
        new.pop("externalTrafficPolicy", None)
    if not external and _same_node_ports(new, old):
        for port in items(new, "ports"):
            if isinstance(port, dict):
                port.pop("nodePort", None)
    if kind != "LoadBalancer":
        for key in ("allocateLoadBalancerNodePorts", "loadBalancerClass"):
            if _same(new, old, key):
                new.pop(key, None)
    if not (kind == "LoadBalancer" and new.get("externalTrafficPolicy") == "Local") and \
            _same(new, old, "healthCheckNodePort"):
        new.pop("healthCheckNodePort", None)


def _same(new: dict[str, Any], old: dict[str, Any], key: str) -> bool:
    return new.get(key) == old.get(key)


def _same_node_ports(new: dict[str, Any], old: dict[str, Any]) -> bool:
    old_ports = {_port_key(p): p.get("nodePort") for p in items(old, "ports")
                 if isinstance(p, dict)}
    return all(p.get("nodePort") in (None, 0, old_ports.get(_port_key(p)))
               for p in items(new, "ports") if isinstance(p, dict))


def _port_key(port: dict[str, Any]) -> tuple[Any, Any]:
    return port.get("port"), port.get("protocol") or "TCP"


def _needs_cluster_ip(spec: dict[str, Any]) -> bool:
    return bool(spec.get("type", "ClusterIP") != "ExternalName")


def _headless(spec: dict[str, Any]) -> bool:
    return spec.get("clusterIP") == "None"


class ServiceStrategy(KindStrategy):
    def check_name(self, name: str) -> list[str]:
        return is_dns1035_label(name)

    def default(self, obj: Object) -> None:
        default_service(obj)

    def prepare_update(self, new: Object, old: Object) -> None:
        drop_type_dependent_fields(mapping(new, "spec"), mapping(old, "spec"))

    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        kind = spec.get("type")
        errs = one_of("spec.type", kind, SERVICE_TYPES)
        errs += one_of("spec.sessionAffinity", spec.get("sessionAffinity"), ["ClientIP", "None"])
        errs += validate_labels(spec.get("selector"), "spec.selector")
        errs += _validate_cluster_ip(spec)
        if kind == "ExternalName":
            errs += _validate_external_name(spec)
        elif not items(spec, "ports") and not _headless(spec):
            errs.append(required("spec.ports"))
        errs += _validate_service_ports(items(spec, "ports"), kind)
        return errs + _validate_traffic_policies(spec)

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        return validate_cluster_ips_update(mapping(new, "spec"), mapping(old, "spec"))


def validate_cluster_ips_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """Assigned cluster IPs may not change, unless to, from or on an ExternalName Service."""
    if "ExternalName" in (new.get("type"), old.get("type")) or (_headless(new) and _headless(old)):
        return []
    new_ips, old_ips = _cluster_ips(new), _cluster_ips(old)
    if old_ips and not new_ips:
        return [invalid_shown("spec.clusterIPs[0]", go_value(new_ips),
                              "primary clusterIP can not be unset")]
    for i, ip in enumerate(old_ips[:len(new_ips)]):
        if new_ips[i] != ip:
            return [invalid_shown(f"spec.clusterIPs[{i}]", go_value(new_ips),
                                  "may not change once set")]
    return []


def _cluster_ips(spec: dict[str, Any]) -> list[str]:
    ips = spec.get("clusterIPs")
    if isinstance(ips, list) and ips:
        return [str(ip) for ip in ips]
    return [spec["clusterIP"]] if spec.get("clusterIP") else []


def _validate_cluster_ip(spec: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, ip in enumerate(_cluster_ips(spec)):
        if spec.get("type") == "ExternalName":
            return [forbidden("spec.clusterIPs", "may not be set for ExternalName services")]
        if ip == "None" and i == 0:
            if spec.get("type") in ("NodePort", "LoadBalancer"):
                errs.append(invalid("spec.clusterIPs[0]", ip,
                                    f"may not be set to 'None' for {spec['type']} services"))
        elif not is_ip(ip):
            errs.append(invalid(f"spec.clusterIPs[{i}]", ip,
                                "must be empty, 'None', or a valid IP address"))
    return errs


def _validate_external_name(spec: dict[str, Any]) -> list[FieldError]:
    name = spec.get("externalName")
    if not name:
        return [required("spec.externalName")]
    return check("spec.externalName", str(name).rstrip("."), is_dns1123_subdomain)


def _validate_service_ports(ports: list[Any], kind: Any) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    node_ports: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        at = f"spec.ports[{i}]"
        port = port if isinstance(port, dict) else {}
        errs += _validate_port_name(port.get("name"), at, len(ports) > 1, names)
        errs += [invalid(f"{at}.port", port.get("port"), m)
                 for m in is_port_number(port.get("port"))]
        errs += one_of(f"{at}.protocol", port.get("protocol"), PROTOCOLS)
        errs += check_port_num_or_name(f"{at}.targetPort", port.get("targetPort", port.get("port")))
        node_port = port.get("nodePort")
        if node_port:
            errs += _validate_node_port(node_port, f"{at}.nodePort", kind)
            key = (node_port, port.get("protocol"))
            if key in node_ports:
                errs.append(duplicate(f"{at}.nodePort", node_port))
            node_ports.add(key)
    return errs


def _validate_port_name(name: Any, path: str, multiple: bool, names: set[str]) -> list[FieldError]:
    if not name:
        return [required(f"{path}.name")] if multiple else []
    if name in names:
        return [duplicate(f"{path}.name", name)]
    names.add(str(name))
    return check(f"{path}.name", name, is_dns1123_label)


def _validate_node_port(node_port: Any, path: str, kind: Any) -> list[FieldError]:
    if kind == "ClusterIP":
        return [forbidden(path, "may not be used when `type` is 'ClusterIP'")]
    low, high = NODE_PORT_RANGE
    if not isinstance(node_port, int) or not low <= node_port <= high:
        return [invalid(path, node_port, "provided port is not in the valid range. "
                                         f"The range of valid ports is {low}-{high}")]
    return []


def _validate_traffic_policies(spec: dict[str, Any]) -> list[FieldError]:
    errs = one_of("spec.internalTrafficPolicy", spec.get("internalTrafficPolicy"),
                  ["Cluster", "Local"], required_=False)
    external = spec.get("externalTrafficPolicy")
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        errs += one_of("spec.externalTrafficPolicy", external, ["Cluster", "Local"])
    elif external:
        errs.append(invalid("spec.externalTrafficPolicy", external,
                            "may only be set when `type` is 'NodePort' or 'LoadBalancer'"))
    errs += one_of("spec.ipFamilyPolicy", spec.get("ipFamilyPolicy"),
                   ["PreferDualStack", "RequireDualStack", "SingleStack"], required_=False)
    for i, family in enumerate(items(spec, "ipFamilies")):
        errs += one_of(f"spec.ipFamilies[{i}]", family, ["IPv4", "IPv6"])
    return errs


class EndpointsStrategy(KindStrategy):
    def default(self, obj: Object) -> None:
        for subset in items(obj, "subsets"):
            for port in items(subset, "ports"):
                if isinstance(port, dict):
                    set_default(port, "protocol", "TCP")

    def validate_spec(self, obj: Object) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, subset in enumerate(items(obj, "subsets")):
            at = f"subsets[{i}]"
            for kind in ("addresses", "notReadyAddresses"):
                for j, address in enumerate(items(subset, kind)):
                    ip = address.get("ip", "") if isinstance(address, dict) else ""
                    if not is_ip(str(ip)):
                        errs.append(invalid(f"{at}.{kind}[{j}].ip", ip,
                                            "must be a valid IP address"))
            errs += _validate_endpoint_ports(items(subset, "ports"), f"{at}.ports")
        return errs


def _validate_endpoint_ports(ports: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, port in enumerate(ports):
        at = f"{path}[{i}]"
        port = port if isinstance(port, dict) else {}
        if port.get("name"):
            errs += check(f"{at}.name", port["name"], is_dns1123_label)
        if port.get("port") is not None:
            errs += [invalid(f"{at}.port", port["port"], m) for m in is_port_number(port["port"])]
        errs += one_of(f"{at}.protocol", port.get("protocol"), PROTOCOLS)
    return errs


class EndpointSliceStrategy(KindStrategy):
    def default(self, obj: Object) -> None:
        for port in items(obj, "ports"):
            if isinstance(port, dict):
                set_default(port, "protocol", "TCP")
                port.setdefault("name", "")

    def validate_spec(self, obj: Object) -> list[FieldError]:
        address_type = obj.get("addressType")
        errs = one_of("addressType", address_type, ADDRESS_TYPES)
        for i, endpoint in enumerate(items(obj, "endpoints")):
            addresses = items(endpoint, "addresses")
            if not addresses:
                errs.append(required(f"endpoints[{i}].addresses",
                                     "must contain at least 1 address"))
            for j, address in enumerate(addresses):
                errs += _validate_slice_address(address, address_type,
                                                f"endpoints[{i}].addresses[{j}]")
        for i, port in enumerate(items(obj, "ports")):
            port = port if isinstance(port, dict) else {}
            if port.get("name"):
                errs += check(f"ports[{i}].name", port["name"], is_dns1123_label)
            if port.get("port") is not None:
                errs += [invalid(f"ports[{i}].port", port["port"], m)
                         for m in is_port_number(port["port"])]
            errs += one_of(f"ports[{i}].protocol", port.get("protocol"), PROTOCOLS)
        return errs

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        return immutable("addressType", new.get("addressType"), old.get("addressType"))


def _validate_slice_address(address: Any, address_type: Any, path: str) -> list[FieldError]:
    if address_type == "FQDN":
        return check(path, address, is_dns1123_subdomain)
    if not isinstance(address, str) or not is_ip(address):
        return [invalid(path, address, "must be a valid IP address")]
    if (":" in address) != (address_type == "IPv6"):
        return [invalid(path, address, f"must be an {address_type} address")]
    return []
