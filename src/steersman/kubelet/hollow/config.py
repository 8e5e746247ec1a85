"""What a hollow-node process simulates: :class:`HollowConfig` and the flag parsers.

The command line hands strings (``--labels k=v,…``, ``--taints k=v:Effect,…``,
``--zones a,b``, ``--pod-cidr-base 127.42``); this module turns them into values and
rejects bad input with a :class:`ValueError` that names the flag, before anything talks to
the server.

Addresses: node *i* owns the /24 ``<base>.0.0 + i·256`` (``127.42.0.0/24``,
``127.42.1.0/24``, …, carrying into the second octet past 256 nodes) as its ``podCIDR``;
its InternalIP is the block's ``.1`` and its pods get ``.2`` to ``.254``. Hollow nodes never
open sockets, so these loopback addresses only have to be unique, not routable; the plan
must stay inside 127.0.0.0/8.
"""

from __future__ import annotations

import ipaddress
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from steersman.api.meta import is_qualified_name, is_valid_label_value
from steersman.api.quantity import canonical_quantity

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
ZONE_LABEL = "topology.kubernetes.io/zone"
MAX_PODS_PER_NODE = 253  # .2 to .254 of the node's /24
_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
_GO_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class HollowConfig:
    """The shape of every simulated node and the timing of their heartbeats."""

    count: int
    name_prefix: str = "hollow"
    cpu: str = "4"
    memory: str = "16Gi"
    pods: int = 110
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    taints: tuple[Mapping[str, str], ...] = ()
    zones: tuple[str, ...] = ()
    pod_cidr_base: str = "127.42"
    architecture: str = field(default_factory=lambda: host_architecture())
    lease_duration_seconds: int = 40
    renew_interval: float = 10.0
    renew_jitter: float = 0.04
    status_interval: float = 300.0  # kubelet's nodeStatusReportFrequency (5 min)
    status_jitter: float = 0.5
    max_in_flight: int = 32

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError(f"--count must not be negative, got {self.count}")
        if not 1 <= self.pods <= MAX_PODS_PER_NODE:
            raise ValueError(f"--pods must be between 1 and {MAX_PODS_PER_NODE} "
                             f"(one /24 per node), got {self.pods}")
        if self.max_in_flight < 1:
            raise ValueError("at least one request must be allowed in flight")
        if self.zones and ZONE_LABEL in self.labels:
            raise ValueError(f"--zones and --labels both set {ZONE_LABEL}: use one of them")
        object.__setattr__(self, "cpu", _quantity("--cpu", self.cpu))
        object.__setattr__(self, "memory", _quantity("--memory", self.memory))
        if self.count:
            pod_cidr(self.pod_cidr_base, self.count - 1)  # the last block must fit too

    def node_name(self, index: int) -> str:
        return f"{self.name_prefix}-{index}"

    def zone(self, index: int) -> str:
        """Node ``index``'s zone: ``--zones`` taken round-robin ("" without zones)."""
        return self.zones[index % len(self.zones)] if self.zones else ""


def host_architecture() -> str:
    """This machine's architecture as Kubernetes names it (``GOARCH``)."""
    machine = platform.machine().lower()
    return _GO_ARCH.get(machine, machine or "amd64")


def pod_cidr(base: str, index: int) -> ipaddress.IPv4Network:
    """The /24 of node ``index`` under ``base`` (``"127.42"``); it must stay in 127/8."""
    try:
        start = ipaddress.IPv4Address(f"{base}.0.0")
    except ipaddress.AddressValueError as err:
        raise ValueError(f"--pod-cidr-base must be two octets such as 127.42, got {base!r}"
                         ) from err
    try:
        network = ipaddress.IPv4Network(f"{start + index * 256}/24")
    except ipaddress.AddressValueError as err:
        raise ValueError(f"node {index} has no /24 left above {base}.0.0") from err
    if not network.subnet_of(_LOOPBACK):
        raise ValueError(f"node {index}'s pod range {network} leaves 127.0.0.0/8: use a lower "
                         f"--pod-cidr-base or fewer nodes")
    return network


def parse_labels(text: str) -> dict[str, str]:
    """``k=v,k2=v2`` → a dict; keys and values are checked as Kubernetes labels."""
    labels: dict[str, str] = {}
    for item in _items(text):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--labels: {item!r} is not key=value")
        _check_label(key.strip(), value.strip())
        labels[key.strip()] = value.strip()
    return labels


def parse_taints(text: str) -> tuple[dict[str, str], ...]:
    """``k=v:Effect,k:Effect`` → taints as the Node spec holds them."""
    taints: list[dict[str, str]] = []
    for item in _items(text):
        head, sep, effect = item.rpartition(":")
        if not sep or effect not in TAINT_EFFECTS:
            raise ValueError(f"--taints: {item!r} is not key[=value]:Effect with Effect one "
                             f"of {', '.join(TAINT_EFFECTS)}")
        key, _, value = head.partition("=")
        _check_label(key, value, flag="--taints")
        taint = {"key": key, "effect": effect}
        taints.append({**taint, "value": value} if value else taint)
    return tuple(taints)


def parse_zones(text: str) -> tuple[str, ...]:
    """``a,b`` → the zones, each a valid label value, none twice."""
    zones = tuple(_items(text))  # never empty strings
    for zone in zones:
        problems = is_valid_label_value(zone)
        if problems:
            raise ValueError(f"--zones: {zone!r}: {'; '.join(problems)}")
    if len(set(zones)) != len(zones):
        raise ValueError(f"--zones: a zone is listed twice in {text!r}")
    return zones


def _items(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _check_label(key: str, value: str, *, flag: str = "--labels") -> None:
    problems = is_qualified_name(key) + is_valid_label_value(value)
    if problems:
        raise ValueError(f"{flag}: {key}={value}: {'; '.join(problems)}")


def _quantity(flag: str, text: Any) -> str:
    try:
        return canonical_quantity(str(text))
    except ValueError as err:
        raise ValueError(f"{flag}: {text!r} is not a quantity: {err}") from err
