"""A pod's ``/etc/resolv.conf``: cluster DNS first, as the kubelet's ``dns.Configurer`` writes it.

:func:`resolv_conf` follows ``spec.dnsPolicy`` (``pkg/kubelet/network/dns/dns.go``):

* ``ClusterFirst`` (the default): ``nameserver <cluster DNS>``, ``search <ns>.svc.<domain>
  svc.<domain> <domain>``, ``options ndots:5`` — except for a ``hostNetwork`` pod, which
  keeps the node's resolver, as upstream;
* ``ClusterFirstWithHostNet``: the same, ``hostNetwork`` or not;
* ``Default``: the node's resolver (no file: the runtime leaves ``/etc/resolv.conf`` alone);
* ``None``: only what ``spec.dnsConfig`` says.

``spec.dnsConfig`` is merged on top, as upstream: its nameservers and searches are
appended (duplicates dropped; at most 3 nameservers and 32 search domains), its options
replace same-named ones. The node agent writes the result into the pod's directory and
hands the path to the runtime (``PodSandboxConfig.resolv_conf_path``), which binds it at
``/etc/resolv.conf``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.kubelet.agent.downward import ContainerConfigError

MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")


def resolv_conf(pod: Mapping[str, Any], *, nameserver: str, domain: str) -> str | None:
    """The pod's resolv.conf text, or None when it keeps the node's resolver."""
    spec = pod.get("spec") or {}
    policy = str(spec.get("dnsPolicy") or "ClusterFirst")
    if policy not in POLICIES:
        raise ContainerConfigError(f"dnsPolicy {policy!r} is not supported; use one of "
                                   f"{', '.join(POLICIES)}")
    if policy == "Default" or (policy == "ClusterFirst" and spec.get("hostNetwork")):
        return None
    nameservers: list[str] = []
    searches: list[str] = []
    options: dict[str, str | None] = {}
    if policy != "None":
        namespace = str((pod.get("metadata") or {}).get("namespace") or "default")
        nameservers.append(nameserver)
        searches.extend((f"{namespace}.svc.{domain}", f"svc.{domain}", domain))
        options["ndots"] = "5"
    _merge(spec.get("dnsConfig") or {}, nameservers, searches, options)
    return _render(nameservers[:MAX_NAMESERVERS], searches[:MAX_SEARCHES], options)


def _merge(config: Mapping[str, Any], nameservers: list[str], searches: list[str],
           options: dict[str, str | None]) -> None:
    for server in config.get("nameservers") or ():
        if server not in nameservers:
            nameservers.append(str(server))
    for search in config.get("searches") or ():
        if search not in searches:
            searches.append(str(search))
    for option in config.get("options") or ():
        value = option.get("value")
        options[str(option.get("name") or "")] = None if value is None else str(value)


def _render(nameservers: list[str], searches: list[str],
            options: Mapping[str, str | None]) -> str:
    lines = [f"nameserver {server}" for server in nameservers]
    if searches:
        lines.append("search " + " ".join(searches))
    rendered = [name if value is None else f"{name}:{value}"
                for name, value in options.items() if name]
    if rendered:
        lines.append("options " + " ".join(rendered))
    return "\n".join(lines) + "\n"
