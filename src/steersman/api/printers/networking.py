"""networking.k8s.io/v1 rows: Ingress, IngressClass, NetworkPolicy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import (
    NONE,
    age,
    dig,
    format_selector,
    items,
    mapping,
    name_of,
    text,
)
from steersman.api.printers.columns import AGE, NAME, Printer, api, col
from steersman.api.printers.service import load_balancer_addresses

_MAX_HOSTS = 3


def _ingress(obj: Mapping[str, Any], now: float) -> list[Any]:
    spec = mapping(obj, "spec")
    class_name = spec.get("ingressClassName")
    return [
        name_of(obj), NONE if class_name is None else str(class_name), _hosts(spec),
        ",".join(load_balancer_addresses(mapping(obj, "status", "loadBalancer"))),
        "80, 443" if items(spec, "tls") else "80", age(obj, now),
    ]


def _hosts(spec: Mapping[str, Any]) -> str:
    """``formatHosts``: up to three rule hosts, ``*`` when no rule names one."""
    rules = items(spec, "rules")
    hosts: list[str] = []
    more = False
    for rule in rules:
        more = more or len(hosts) == _MAX_HOSTS
        if not more and text(rule, "host"):
            hosts.append(text(rule, "host"))
    if not hosts:
        return "*"
    joined = ",".join(hosts)
    return f"{joined} + {len(rules) - _MAX_HOSTS} more..." if more else joined


def _ingress_class(obj: Mapping[str, Any], now: float) -> list[Any]:
    parameters = dig(obj, "spec", "parameters")
    rendered = NONE
    if isinstance(parameters, Mapping):
        group = parameters.get("apiGroup")
        kind = text(parameters, "kind") + ("" if group is None else f".{group}")
        rendered = f"{kind}/{text(parameters, 'name')}"
    return [name_of(obj), text(obj, "spec", "controller"), rendered, age(obj, now)]


def _network_policy(obj: Mapping[str, Any], now: float) -> list[Any]:
    selector = format_selector(dig(obj, "spec", "podSelector"))
    return [name_of(obj), selector, age(obj, now)]


_INGRESS_COLUMNS = (
    NAME,
    col("Class", "The name of the IngressClass resource that should be used for additional "
        "configuration"),
    col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
    col("Address", "Address is a list containing ingress points for the load-balancer"),
    col("Ports", "Ports of TLS configurations that open"),
    AGE,
)

PRINTERS = {
    "Ingress": Printer(_INGRESS_COLUMNS, _ingress),
    "IngressClass": Printer(
        (NAME, col("Controller", "Controller that is responsible for handling this class"),
         col("Parameters", "A reference to a resource with additional parameters"), AGE),
        _ingress_class),
    "NetworkPolicy": Printer(
        (NAME, col("Pod-Selector", api("networking.v1.NetworkPolicySpec", "podSelector")), AGE),
        _network_policy),
}
