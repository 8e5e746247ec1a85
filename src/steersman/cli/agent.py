"""``steersman agent``: run a node — register it, heartbeat, and run the pods bound to it.

The agent reaches the cluster through a kubeconfig (``--kubeconfig``); joining with a
bootstrap token (``--server URL --token T``) will produce the same
:class:`~steersman.client.ClientConfig` and plug in at :func:`_client_config`. The
container runtime is chosen by ``--runtime`` and opened in :func:`_open_runtime`, the one
place where runtimes are wired. SIGTERM or Ctrl-C stops the agent and leaves every
container running: the next agent on this node adopts them.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import click
from rich.console import Console

from steersman.api.errors import StatusError
from steersman.cli.signals import wait_for_stop_signal
from steersman.client import (
    Client,
    ClientConfig,
    ConfigError,
    ServerUnreachable,
    SystemClock,
    load_kubeconfig,
)
from steersman.kubelet.agent import AgentConfig, NodeAgent, Runtime
from steersman.kubelet.agent.runtime_adapter import RuntimeAdapter
from steersman.kubelet.hollow import parse_labels, parse_taints
from steersman.kubelet.runtime.interface import ContainerRuntimeError
from steersman.kubelet.runtime.registry import new_runtime
from steersman.server.controlplane import default_data_dir

console = Console(stderr=True)
RUNTIMES = ("process", "crun", "runc")


@click.command("agent")
@click.option("--kubeconfig", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="Kubeconfig of the cluster [default: $KUBECONFIG, "
                                 "~/.kube/config].")
@click.option("--node-name", required=True, help="Name of this node.")
@click.option("--runtime", "runtime_name", type=click.Choice(RUNTIMES), default="process",
              show_default=True, help="Container runtime.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Pods, volumes and logs [default: $XDG_DATA_HOME/steersman/agent-NODE].")
@click.option("--cpu", default="", help="CPU capacity [default: this machine's].")
@click.option("--memory", default="", help="Memory capacity [default: this machine's].")
@click.option("--pods", type=int, default=110, show_default=True, help="Pod capacity.")
@click.option("--labels", default="", help="Extra node labels: k=v,k2=v2.")
@click.option("--taints", default="", help="Node taints: k=v:Effect,k:Effect.")
@click.option("--pod-cidr", default="", help="The node's pod /24 inside 127.0.0.0/8 "
                                             "[default: derived from the node name].")
def agent(kubeconfig: Path | None, node_name: str, runtime_name: str, data_dir: Path | None,
          cpu: str, memory: str, pods: int, labels: str, taints: str, pod_cidr: str) -> None:
    """Run this machine as node NODE-NAME of a cluster."""
    try:
        config = AgentConfig(node_name=node_name,
                             data_dir=data_dir or default_data_dir(f"agent-{node_name}"),
                             pod_cidr=pod_cidr, cpu=cpu, memory=memory, pods=pods,
                             labels=parse_labels(labels), taints=parse_taints(taints))
    except ValueError as err:
        raise click.BadParameter(str(err)) from err
    try:
        asyncio.run(_serve(config, _client_config(kubeconfig), runtime_name))
    except (ConfigError, StatusError) as err:
        raise click.ClickException(str(err)) from err


def _client_config(kubeconfig: Path | None) -> ClientConfig:
    return load_kubeconfig(kubeconfig)


async def _open_runtime(name: str, data_dir: Path) -> Runtime:
    """The runtime ``name`` keeping its state under ``data_dir/runtime``, as the agent sees it.

    ``process`` runs host processes and ignores the image; ``crun`` and ``runc`` need root.
    """
    try:
        service = new_runtime(name, state_dir=data_dir / "runtime")
        return await RuntimeAdapter.open(service)
    except ContainerRuntimeError as err:
        raise click.ClickException(f"cannot open the {name} runtime: {err}") from err


async def _serve(config: AgentConfig, client_config: ClientConfig, runtime_name: str) -> None:
    runtime = await _open_runtime(runtime_name, config.data_dir)
    clock = SystemClock()
    async with Client(client_config, clock=clock, user_agent=f"steersman-agent/{config.node_name}"
                      ) as client:
        node = NodeAgent(client, runtime, config, clock=clock)
        await node.register()
        console.print(f"[green]✓[/] node {config.node_name} registered with "
                      f"{client_config.server} (runtime {runtime.name}, pods in "
                      f"{config.pod_cidr})", soft_wrap=True)
        running = asyncio.create_task(node.run())
        await wait_for_stop_signal(unless_done=running)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError, ServerUnreachable):
            await running


