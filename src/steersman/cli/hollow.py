"""``steersman hollow-nodes``: run N simulated nodes against a cluster until stopped.

The nodes register (or resume), report Ready, renew their Leases and run the pods bound to
them without running anything (see :mod:`steersman.kubelet.hollow`). SIGTERM or Ctrl-C
stops the process cleanly and leaves the Nodes registered: their Leases expire and the
node lifecycle controller takes over, as when a machine goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from steersman.api.errors import StatusError
from steersman.cli import gc_policy
from steersman.cli.signals import wait_for_stop_signal
from steersman.client import Client, ConfigError, ServerUnreachable, load_kubeconfig
from steersman.kubelet.hollow import (
    HollowConfig,
    HollowNodes,
    parse_labels,
    parse_taints,
    parse_zones,
)

console = Console(stderr=True)
_QPS = 100_000.0  # requests are bounded by --max-in-flight, not by a client-side rate


@click.command("hollow-nodes")
@click.option("--count", type=click.IntRange(min=0), required=True,
              help="How many nodes to simulate.")
@click.option("--kubeconfig", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="Kubeconfig of the cluster [default: $KUBECONFIG, "
                                 "~/.kube/config].")
@click.option("--name-prefix", default="hollow", show_default=True,
              help="Nodes are named PREFIX-0, PREFIX-1, …")
@click.option("--cpu", default="4", show_default=True, help="CPU capacity of each node.")
@click.option("--memory", default="16Gi", show_default=True, help="Memory of each node.")
@click.option("--pods", type=int, default=110, show_default=True,
              help="Pod capacity of each node (at most 253).")
@click.option("--labels", default="", help="Extra node labels: k=v,k2=v2.")
@click.option("--taints", default="", help="Node taints: k=v:Effect,k:Effect.")
@click.option("--zones", default="",
              help="Spread the nodes over these zones, round-robin: node i gets "
                   "topology.kubernetes.io/zone=ZONES[i mod n] (a,b,…).")
@click.option("--pod-cidr-base", default="127.42", show_default=True,
              help="Node i gets the /24 BASE.0.0 + i·256 (inside 127.0.0.0/8).")
@click.option("--max-in-flight", type=click.IntRange(min=1), default=32, show_default=True,
              help="Concurrent requests to the API server.")
def hollow_nodes(count: int, kubeconfig: Path | None, name_prefix: str, cpu: str,
                 memory: str, pods: int, labels: str, taints: str, zones: str,
                 pod_cidr_base: str, max_in_flight: int) -> None:
    """Simulate COUNT nodes (heartbeats and pod status, no processes) for scale tests.

    Pods bound to the nodes go Running at once with a pod IP and are deleted at once when
    deleted. A pod with restartPolicy Never or OnFailure and the annotation
    hollow.steersman.io/complete-after: SECONDS goes Succeeded that long after starting.
    """
    try:
        config = HollowConfig(count=count, name_prefix=name_prefix, cpu=cpu, memory=memory,
                              pods=pods, labels=parse_labels(labels),
                              taints=parse_taints(taints), zones=parse_zones(zones),
                              pod_cidr_base=pod_cidr_base,
                              max_in_flight=max_in_flight)
    except ValueError as err:
        raise click.BadParameter(str(err)) from err
    try:
        asyncio.run(_until_signal(_serve(config, kubeconfig)))
    except (ConfigError, ServerUnreachable, StatusError) as err:
        raise click.ClickException(str(err)) from err


async def _serve(config: HollowConfig, kubeconfig: Path | None) -> None:
    gc_policy.for_caches()  # the heap is mostly the informer cache of every bound pod
    client_config = load_kubeconfig(kubeconfig)
    async with Client(client_config, qps=_QPS, burst=int(_QPS),
                      connection_limit=config.max_in_flight + 4,
                      user_agent="steersman-hollow-nodes") as client:
        simulator = HollowNodes(client, config)
        started = time.monotonic()
        await simulator.register()
        gc_policy.settle()
        console.print(f"[green]✓[/] {config.count} hollow nodes registered "
                      f"in {time.monotonic() - started:.1f} s; heartbeating against "
                      f"{client_config.server}", soft_wrap=True)
        await simulator.run()


async def _until_signal(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` until it ends or SIGINT/SIGTERM cancels it; the Nodes are left as is."""
    task = asyncio.create_task(work)
    if await wait_for_stop_signal(unless_done=task):
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if task.cancelled():
        console.print("stopped; the nodes stay registered")
