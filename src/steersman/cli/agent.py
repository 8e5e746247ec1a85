"""``steersman agent``: run a node — register it, heartbeat, and run the pods bound to it.

The agent reaches the cluster through a kubeconfig (``--kubeconfig``) or joins it with a
token (``--server URL --token T`` or ``--token-file F``): :func:`_client_config` turns
either into a :class:`~steersman.client.ClientConfig`; a joined node keeps its
credentials, serving certificate included, under its data dir and renews them
(:mod:`steersman.kubelet.agent.join`). The
container runtime is chosen by ``--runtime`` and opened in :func:`_open_runtime`, the one
place where runtimes are wired; ``--network`` picks the pod networking (``host``, or
``bridge`` with root: :mod:`steersman.kubelet.network`). The node's HTTPS server for
logs, exec, attach and port-forward listens on the node's address and ``--port`` with
``--tls-cert-file`` and ``--tls-private-key-file``, accepting the clients
``--client-ca-file`` signed (the API server's kubelet-client certificate); without a
certificate it is not started. SIGTERM or Ctrl-C stops the agent and leaves every
container running: the next agent on this node adopts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console

from steersman.api.bootstraptoken import TokenFormatError, parse_join_token
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
from steersman.kubelet.agent import AgentConfig, NodeAgent
from steersman.kubelet.agent.join import (
    ClientCertificateRotation,
    JoinError,
    JoinRequest,
    join_cluster,
    rotate_while,
)
from steersman.kubelet.agent.node_credentials import node_user
from steersman.kubelet.agent.runtime_adapter import RuntimeAdapter
from steersman.kubelet.hollow import parse_labels, parse_taints
from steersman.kubelet.network import NETWORK_MODES, NetworkError
from steersman.kubelet.runtime.interface import ContainerRuntimeError
from steersman.kubelet.runtime.registry import new_runtime
from steersman.proxy import PROXY_MODES, ServiceProxy, new_backend
from steersman.server.controlplane import default_data_dir

console = Console(stderr=True)
RUNTIMES = ("process", "crun", "runc")
NETWORK_HELP = ("Pod networking: host (pods share this machine's network namespace, each with "
                "a loopback IP) or bridge (root only: a network namespace per pod on a node "
                "bridge through the CNI plugins, pod IPs in 10.42.0.0/16; opt-in until "
                "proven, see docs/networking.md).")


def _serving_options(func: Callable[..., None]) -> Callable[..., None]:
    """The streaming server's options: the API server proxies logs, exec and port-forward
    to it, on the node's address (the first of its pod range)."""
    file = click.Path(path_type=Path, exists=True, dir_okay=False)
    options = [
        click.option("--port", type=click.IntRange(0, 65535), default=10250, show_default=True,
                     help="Port of the node's HTTPS server for logs, exec and port-forward "
                          "(0 = any free port)."),
        click.option("--tls-cert-file", type=file, default=None,
                     help="Serving certificate of that server; its SANs must name the node's "
                          "address. Without it logs, exec and port-forward are not served."),
        click.option("--tls-private-key-file", type=file, default=None,
                     help="Key of --tls-cert-file."),
        click.option("--client-ca-file", type=file, default=None,
                     help="CA whose clients (the API server's kubelet-client certificate) "
                          "the server accepts."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _join_options(func: Callable[..., None]) -> Callable[..., None]:
    """Joining with a token instead of a kubeconfig (see :mod:`steersman.kubelet.agent.join`)."""
    options = [
        click.option("--server", default="",
                     help="API server to join, e.g. https://10.0.0.1:6443 (with --token or "
                          "--token-file; a restart reuses the credentials it got)."),
        click.option("--token", default="", envvar="STEERSMAN_TOKEN",
                     help="Join token K10<ca hash>::<id>.<secret> (the server's node-token "
                          "file) [env: STEERSMAN_TOKEN]."),
        click.option("--token-file", type=click.Path(path_type=Path, exists=True,
                                                     dir_okay=False),
                     default=None, help="File holding the join token."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


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
                                             "(10.42.0.0/16 with --network bridge) "
                                             "[default: derived from the node name].")
@click.option("--network", "network_mode", type=click.Choice(NETWORK_MODES), default="host",
              show_default=True, help=NETWORK_HELP)
@_serving_options
@_join_options
@click.option("--proxy-mode", type=click.Choice(PROXY_MODES), default=None,
              help="Service proxy of this node: userspace (no root), nftables (root, for "
                   "bridge networking) or none [default: userspace; nftables with "
                   "--network bridge].")
@click.option("--cluster-dns", default="", help="Nameserver written to the resolv.conf of "
              "pods with their own network namespace (bridge), e.g. 10.43.0.10 [default: "
              "none: they keep the machine's or image's resolver].")
def agent(kubeconfig: Path | None, node_name: str, runtime_name: str, data_dir: Path | None,
          cpu: str, memory: str, pods: int, labels: str, taints: str, pod_cidr: str,
          port: int, tls_cert_file: Path | None, tls_private_key_file: Path | None,
          client_ca_file: Path | None, server: str, token: str,
          token_file: Path | None, proxy_mode: str | None, cluster_dns: str,
          network_mode: str) -> None:
    """Run this machine as node NODE-NAME of a cluster."""
    try:
        config = AgentConfig(node_name=node_name,
                             data_dir=data_dir or default_data_dir(f"agent-{node_name}"),
                             pod_cidr=pod_cidr, cpu=cpu, memory=memory, pods=pods,
                             labels=parse_labels(labels), taints=parse_taints(taints),
                             port=port, serving_cert_file=tls_cert_file,
                             serving_key_file=tls_private_key_file,
                             client_ca_file=client_ca_file, network_mode=network_mode,
                             cluster_dns=cluster_dns)
    except ValueError as err:
        raise click.BadParameter(str(err)) from err
    try:
        client_config, config, rotation = _client_config(
            kubeconfig, config, _join_request(config, kubeconfig, server, token, token_file))
        serving = _serve(config, client_config, runtime_name,
                         proxy_mode or default_proxy_mode(network_mode))
        asyncio.run(serving if rotation is None else rotate_while(serving, rotation))
    except (ConfigError, StatusError, JoinError) as err:
        raise click.ClickException(str(err)) from err


def default_proxy_mode(network_mode: str) -> str:
    """nftables for bridge networking (pods reach ClusterIPs through the host's DNAT),
    userspace otherwise (loopback listeners, no root)."""
    return "nftables" if network_mode == "bridge" else "userspace"


def _join_request(config: AgentConfig, kubeconfig: Path | None, server: str, token: str,
                  token_file: Path | None) -> JoinRequest | None:
    """What ``--server/--token/--token-file`` ask for; None when joining is not asked."""
    if token and token_file:
        raise click.UsageError("give the join token once: --token or --token-file")
    if token_file is not None:
        token = token_file.read_text().strip()
    if not server:
        if token:
            raise click.UsageError("--token and --token-file need --server URL")
        return None
    if kubeconfig is not None:
        raise click.UsageError("use either --kubeconfig or --server (with a token), not both")
    if not server.startswith("https://"):
        raise click.BadParameter(f"{server!r} must be an https:// URL", param_hint="--server")
    try:
        parsed = parse_join_token(token) if token else None
    except TokenFormatError as err:
        raise click.BadParameter(str(err), param_hint="--token") from err
    return JoinRequest(server=server.rstrip("/"), token=parsed, node_name=config.node_name,
                       hosts=(config.node_ip, config.node_name))


def _client_config(kubeconfig: Path | None, config: AgentConfig, join: JoinRequest | None
                   ) -> tuple[ClientConfig, AgentConfig, ClientCertificateRotation | None]:
    """The kubeconfig's client; or, joining, the node's own credentials (made or reused),
    its serving certificate for the streaming server unless --tls-* name one, and the
    renewal of its client certificate."""
    if join is None:
        return load_kubeconfig(kubeconfig), config, None
    joined = asyncio.run(join_cluster(join, config.data_dir, clock=SystemClock()))
    creds = joined.credentials
    console.print(f"[green]✓[/] {'joined' if joined.joined else 'reusing the credentials of'} "
                  f"{join.server} as {node_user(config.node_name)} ({creds.data_dir})",
                  soft_wrap=True)
    if config.serving_cert_file is None:
        config = dataclasses.replace(config, serving_cert_file=creds.serving_cert,
                                     serving_key_file=creds.serving_key,
                                     client_ca_file=config.client_ca_file or creds.ca_cert)
    return joined.client_config, config, joined.rotation


async def _open_runtime(name: str, data_dir: Path) -> RuntimeAdapter:
    """The runtime ``name`` keeping its state under ``data_dir/runtime``, as the agent sees it.

    ``process`` runs host processes and ignores the image; ``crun`` and ``runc`` need root.
    """
    try:
        service = new_runtime(name, state_dir=data_dir / "runtime")
        return await RuntimeAdapter.open(service)
    except ContainerRuntimeError as err:
        raise click.ClickException(f"cannot open the {name} runtime: {err}") from err


async def _serve(config: AgentConfig, client_config: ClientConfig, runtime_name: str,
                 proxy_mode: str = "userspace") -> None:
    runtime = await _open_runtime(runtime_name, config.data_dir)
    clock = SystemClock()
    async with Client(client_config, clock=clock, user_agent=f"steersman-agent/{config.node_name}"
                      ) as client:
        node = NodeAgent(client, runtime, config, clock=clock, service=runtime.service)
        try:
            await node.start()
        except NetworkError as err:
            raise click.ClickException(f"cannot set up pod networking: {err}") from err
        except OSError as err:
            raise click.ClickException(
                f"cannot serve logs, exec and port-forward on {config.node_ip}:{config.port}: "
                f"{err.strerror or err}; pick another port with --port (0 = any free port)"
            ) from err
        console.print(f"[green]✓[/] node {config.node_name} registered with "
                      f"{client_config.server} (runtime {runtime.name}, pods in "
                      f"{config.pod_cidr}{_serving_note(node)})", soft_wrap=True)
        running = asyncio.create_task(node.run())
        proxying = _start_proxy(client, config, proxy_mode)
        await wait_for_stop_signal(unless_done=running)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError, ServerUnreachable):
            await running
        await _stop_proxy(proxying)


def _serving_note(node: NodeAgent) -> str:
    port = node.heartbeat.kubelet_port
    if not port:
        return "; logs, exec and port-forward not served: no --tls-cert-file"
    return f"; streams on {node.ctx.config.node_ip}:{port}"


def _start_proxy(client: Client, config: AgentConfig, mode: str) -> asyncio.Task[None] | None:
    """The node's service proxy (``--proxy-mode``), on the agent's client."""
    if mode == "none":
        return None
    try:
        backend = new_backend(mode, node_name=config.node_name)
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    proxy = ServiceProxy(client, node_name=config.node_name, node_ip=config.node_ip,
                         backend=backend)
    return asyncio.create_task(proxy.run(), name="service-proxy")


async def _stop_proxy(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ServerUnreachable):
            await task
