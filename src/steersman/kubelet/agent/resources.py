"""A container's requests and limits as cgroup values: the kubelet's conversions.

:func:`container_resources` follows ``pkg/kubelet/cm/helpers_linux.go`` on cgroup v1:

* ``cpu.shares`` = request in millicores * 1024 / 1000, at least 2 (no request: 2, the
  BestEffort weight); a limit without a request counts as the request, as the API
  server's defaulting does;
* ``cpu.cfs_quota_us`` = limit in millicores * period / 1000, at least 1 ms, over a
  100 ms ``cfs_period_us``; no limit: no quota;
* ``memory.limit_in_bytes`` = the memory limit (the runtime sets memory+swap to the same
  value, so a container cannot swap past it); no limit: unlimited.

The OCI runtimes write these into ``linux.resources``; the process runtime ignores them.
A quantity that does not parse is a :class:`~.downward.ContainerConfigError`.
"""

from __future__ import annotations

from typing import Any

from steersman.api.quantity import QuantityError, milli_value, value
from steersman.kubelet.agent.cri import Resources
from steersman.kubelet.agent.downward import ContainerConfigError

Object = dict[str, Any]
MIN_SHARES = 2
SHARES_PER_CPU = 1024
QUOTA_PERIOD = 100_000  # microseconds
MIN_QUOTA = 1_000


def container_resources(container: Object) -> Resources:
    """The cgroup limits of one container from its ``resources``."""
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    requests = {**limits, **(resources.get("requests") or {})}
    cpu_request = _milli(requests, "cpu")
    cpu_limit = _milli(limits, "cpu")
    memory = limits.get("memory")
    return Resources(
        cpu_shares=max(cpu_request * SHARES_PER_CPU // 1000, MIN_SHARES),
        cpu_quota=max(cpu_limit * QUOTA_PERIOD // 1000, MIN_QUOTA) if cpu_limit else None,
        cpu_period=QUOTA_PERIOD if cpu_limit else None,
        memory_limit=_bytes(memory) if memory is not None else None)


def _milli(quantities: Object, name: str) -> int:
    if quantities.get(name) is None:
        return 0
    try:
        return milli_value(quantities[name])
    except QuantityError as err:
        raise ContainerConfigError(f"invalid {name} quantity {quantities[name]!r}: {err}") \
            from err


def _bytes(quantity: Any) -> int:
    try:
        return value(quantity)
    except QuantityError as err:
        raise ContainerConfigError(f"invalid memory quantity {quantity!r}: {err}") from err
