"""The ``steersman`` command: ``server`` runs the control plane, ``up`` a whole local cluster.

Until the node agent exists, ``up`` starts the control plane alone and says so. Both print
where the admin kubeconfig is, and ``up`` prints the ``export KUBECONFIG=…`` line.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from pathlib import Path

import click
import uvloop
from rich.console import Console

from steersman import __version__
from steersman.cli import gc_policy
from steersman.cli.agent import NETWORK_HELP, agent, default_proxy_mode
from steersman.cli.hollow import hollow_nodes
from steersman.cli.image import image
from steersman.cli.signals import wait_for_stop_signal
from steersman.controllers.servicelb import DEFAULT_LB_POOL, parse_pool
from steersman.dns import DNSConfig, Upstream, parse_upstream
from steersman.ingress import (
    DEFAULT_HTTP_PORT,
    DEFAULT_HTTPS_PORT,
    IngressConfig,
    ListenError,
    default_address,
)
from steersman.kubelet.network import NETWORK_MODES, NetworkError
from steersman.kubelet.network.cni import SERVICE_CIDR
from steersman.proxy import PROXY_MODES
from steersman.server.controlplane import ControlPlane, ServerConfig, default_data_dir
from steersman.server.kubeconfigs import MergeError, merge_admin_context
from steersman.server.localnodes import LocalNodes

console = Console(stderr=True)
HOST_SERVICE_CIDR = "127.43.0.0/16"
BRIDGE_SERVICE_CIDR = str(SERVICE_CIDR)
_SERVICE_RANGES = (ipaddress.IPv4Network("127.0.0.0/8"), SERVICE_CIDR)


@click.group()
@click.version_option(__version__, prog_name="steersman")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """steersman: a small, fast, Kubernetes-compatible container orchestrator."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _server_options(func: click.decorators.FC) -> click.decorators.FC:
    options = [
        click.option("--name", "cluster_name", default="default", show_default=True,
                     help="Cluster name; the default data dir is derived from it."),
        click.option("--data-dir", type=click.Path(path_type=Path), default=None,
                     help="State, keys and kubeconfig [default: $XDG_DATA_HOME/steersman/NAME]."),
        click.option("--bind-address", default="127.0.0.1", show_default=True),
        click.option("--port", default=6443, show_default=True, type=int,
                     help="API port; 0 picks a free one."),
        click.option("--store", "store_url", default="",
                     help="memory://, sqlite:///path.db or etcd://host:port[,host:port] "
                          "[default: sqlite in the data dir]."),
        click.option("--insecure-http", is_flag=True,
                     help="Serve plain HTTP without authentication (loopback only)."),
        click.option("--controllers", default="*", show_default=True,
                     help="Controllers to run: '*' for all, names to pick, '-name' to leave "
                          "one out, '' for none (comma-separated)."),
        click.option("--leader-elect/--no-leader-elect", default=True, show_default=True,
                     help="Run controllers only while holding the leader Lease (for several "
                          "servers on one etcd)."),
        click.option("--scheduler/--no-scheduler", default=True, show_default=True,
                     help="Run the scheduler (leader-elected like the controllers)."),
        click.option("--service-cidr", default="", callback=_check_service_cidr,
                     help="ClusterIP range: inside 127.0.0.0/8 (host pod networking) or "
                          "10.43.0.0/16 (bridge) [default: 127.43.0.0/16; 10.43.0.0/16 "
                          "for up --network bridge]."),
        click.option("--lb-pool", default=DEFAULT_LB_POOL, show_default=True,
                     callback=_check_lb_pool,
                     help="Addresses given to LoadBalancer Services (IPv4 CIDR)."),
        click.option("--ingress/--no-ingress", default=True, show_default=True,
                     help="Run the ingress controller (IngressClass steersman)."),
        click.option("--ingress-address", default="", callback=_check_ip,
                     help="Ingress listen address [default: this cluster's own loopback "
                          "address in 127.80.0.0/16, derived from the data dir]."),
        click.option("--ingress-http-port", default=DEFAULT_HTTP_PORT, show_default=True,
                     type=click.IntRange(0, 65535), help="Ingress HTTP port (0: any free)."),
        click.option("--ingress-https-port", default=DEFAULT_HTTPS_PORT, show_default=True,
                     type=click.IntRange(0, 65535), help="Ingress HTTPS port (0: any free)."),
        click.option("--dns/--no-dns", default=True, show_default=True,
                     help="Serve cluster DNS (cluster.local) for the kube-dns Service."),
        click.option("--dns-address", default="", callback=_check_ip,
                     help="Cluster DNS listen address [default: the kube-dns ClusterIP, "
                          "127.43.0.10]."),
        click.option("--dns-port", default=53, show_default=True,
                     type=click.IntRange(0, 65535),
                     help="Cluster DNS port, UDP and TCP (0: any free; 53 needs root)."),
        click.option("--dns-upstream", multiple=True, callback=_check_upstreams,
                     metavar="IP[:PORT]",
                     help="Resolver for names outside the cluster; repeat for more "
                          "[default: the nameservers of /etc/resolv.conf]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _config(cluster_name: str, data_dir: Path | None, bind_address: str, port: int,
            store_url: str, insecure_http: bool, controllers: str,
            leader_elect: bool, scheduler: bool, lb_pool: str, service_cidr: str = "",
            ingress: bool = True, ingress_address: str = "",
            ingress_http_port: int = DEFAULT_HTTP_PORT,
            ingress_https_port: int = DEFAULT_HTTPS_PORT, dns: bool = True,
            dns_address: str = "", dns_port: int = 53,
            dns_upstream: tuple[Upstream, ...] = ()) -> ServerConfig:
    selection = tuple(name.strip() for name in controllers.split(",") if name.strip())
    directory = data_dir or default_data_dir(cluster_name)
    ingress_config = IngressConfig(ingress_address or default_address(directory),
                                   ingress_http_port, ingress_https_port) if ingress else None
    dns_config = DNSConfig(address=dns_address, port=dns_port,
                           upstreams=dns_upstream or None) if dns else None
    return ServerConfig(data_dir=directory, ingress=ingress_config, dns=dns_config,
                        cluster_name=cluster_name, bind_address=bind_address, port=port,
                        store_url=store_url, insecure_http=insecure_http,
                        controllers=selection, leader_elect=leader_elect,
                        scheduler=scheduler, lb_pool=lb_pool,
                        service_cidr=service_cidr or HOST_SERVICE_CIDR)


def _check_lb_pool(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return str(parse_pool(value))
    except ValueError as err:
        raise click.BadParameter(str(err)) from err


def _check_service_cidr(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value:
        return ""
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError as err:
        raise click.BadParameter(f"{value!r} is not an IPv4 network: {err}") from err
    if not any(network.subnet_of(allowed) for allowed in _SERVICE_RANGES):
        raise click.BadParameter(f"{value} must be inside 127.0.0.0/8 (host pod networking) "
                                 f"or {BRIDGE_SERVICE_CIDR} (bridge pod networking: the "
                                 "range pods are routed to and the blackhole route covers)")
    return str(network)


def _check_upstreams(ctx: click.Context, param: click.Parameter,
                     values: tuple[str, ...]) -> tuple[Upstream, ...]:
    try:
        return tuple(parse_upstream(value) for value in values)
    except ValueError as err:
        raise click.BadParameter(str(err)) from err


def _check_ip(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return str(ipaddress.ip_address(value)) if value else ""
    except ValueError as err:
        raise click.BadParameter(f"{value!r} is not an IP address") from err

@main.command()
@_server_options
def server(**kwargs: object) -> None:
    """Run the control plane (API server and store)."""
    config = _config(**kwargs)  # type: ignore[arg-type]
    # uvloop: its sockets and TLS are C, asyncio's TLS layer is Python; with thousands of
    # nodes' small HTTPS requests the API server spends ~10% less CPU per bound pod
    # (bench/scheduler.py, same-run A/B). `up` keeps asyncio's loop for its in-process nodes.
    uvloop.run(_run(config, announce_export=False))


@main.command()
@_server_options
@click.option("--nodes", type=click.IntRange(0, 32), default=1, show_default=True,
              help="Node agents to run on this machine.")
@click.option("--runtime", type=click.Choice(("process", "crun", "runc")), default="process",
              show_default=True, help="Container runtime of the nodes (crun/runc need root).")
@click.option("--network", "network_mode", type=click.Choice(NETWORK_MODES), default="host",
              show_default=True, help=NETWORK_HELP)
@click.option("--proxy-mode", type=click.Choice(PROXY_MODES), default=None,
              help="Service proxy of the nodes [default: userspace; nftables with "
                   "--network bridge].")
@click.option("--merge-kubeconfig", "merge_kubeconfig", is_flag=False, flag_value=str(
              Path("~/.kube/config")), default=None, metavar="[PATH]",
              help="Also merge the steersman-NAME context into PATH [default: ~/.kube/config] "
                   "and make it the current context.")
def up(nodes: int, runtime: str, network_mode: str, proxy_mode: str | None,
       merge_kubeconfig: str | None, service_cidr: str, **kwargs: object) -> None:
    """Start a local cluster in one process and print how to use it."""
    bridged = network_mode == "bridge"
    if service_cidr and _bridged_range(service_cidr) != bridged:
        raise click.BadParameter(
            f"with --network {network_mode} the service range must be inside "
            f"{BRIDGE_SERVICE_CIDR if bridged else '127.0.0.0/8'}", param_hint="--service-cidr")
    config = _config(service_cidr=service_cidr or (BRIDGE_SERVICE_CIDR if bridged else ""),
                     **kwargs)  # type: ignore[arg-type]
    merge_into = Path(merge_kubeconfig).expanduser() if merge_kubeconfig else None
    asyncio.run(_run(config, announce_export=True, nodes=nodes, runtime=runtime,
                     merge_into=merge_into, network_mode=network_mode,
                     proxy_mode=proxy_mode or default_proxy_mode(network_mode)))


def _bridged_range(service_cidr: str) -> bool:
    return ipaddress.IPv4Network(service_cidr).subnet_of(SERVICE_CIDR)


async def _run(config: ServerConfig, *, announce_export: bool, nodes: int = 0,
               runtime: str = "process", merge_into: Path | None = None,
               network_mode: str = "host", proxy_mode: str = "userspace") -> None:
    gc_policy.for_caches()  # the heap is mostly the watch cache
    plane = ControlPlane(config)
    with console.status("starting the control plane…"):
        try:
            await plane.start()
        except ListenError as exc:
            raise click.ClickException(str(exc)) from exc
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {config.bind_address}:{config.port}: {exc.strerror}; "
                f"pick another port with --port (0 = any free port)") from exc
    gc_policy.settle()
    console.print(f"[green]✓[/] API server ready at [bold]{plane.url}[/] "
                  f"(store: {config.store})")
    console.print(f"  admin kubeconfig: {config.kubeconfig_path}")
    _announce_ingress(plane)
    _announce_dns(plane)
    if plane.join_token_path is not None:
        console.print(f"  join a node: steersman agent --server {plane.url} "
                      f"--token-file {plane.join_token_path} --node-name NAME", soft_wrap=True)
    if merge_into is not None:
        _merge_kubeconfig(config, merge_into)
    local = LocalNodes(config.kubeconfig_path, config.data_dir, cluster=config.cluster_name,
                       count=nodes, runtime=runtime, network_mode=network_mode,
                       proxy_mode=proxy_mode, cluster_dns=_cluster_dns(plane, network_mode))
    if nodes:
        with console.status(f"starting {nodes} node(s) with the {runtime} runtime…"):
            try:
                await local.start()
            except NetworkError as exc:
                await local.stop()
                await plane.stop()
                raise click.ClickException(f"cannot set up pod networking: {exc}") from exc
        console.print(f"  nodes: {', '.join(local.names)} (runtime {runtime})")
    if announce_export:
        click.echo(f"export KUBECONFIG={config.kubeconfig_path}", err=False)
    await wait_for_stop_signal()
    with console.status("stopping…"):
        await local.stop()
        await plane.stop()


def _cluster_dns(plane: ControlPlane, network_mode: str) -> str:
    """The nameserver of bridge pods' resolv.conf: the kube-dns ClusterIP, when DNS runs
    (host-network pods keep the machine's resolver: they share its files)."""
    components = plane.components
    if network_mode != "bridge" or components is None or components.dns is None:
        return ""
    return components.dns.config.service_ip


def _announce_ingress(plane: ControlPlane) -> None:
    ingress = plane.components.ingress if plane.components else None
    if ingress is not None and ingress.proxy is not None:
        proxy = ingress.proxy
        console.print(f"  ingress (class steersman): http://{proxy.address}:{proxy.http_port}, "
                      f"https://{proxy.address}:{proxy.https_port}", soft_wrap=True)


def _announce_dns(plane: ControlPlane) -> None:
    components = plane.components
    if components is not None and components.dns is not None:
        host, port = components.dns.address
        at = f"@{host}" + (f" -p {port}" if port != 53 else "")
        service_ip = components.dns.config.service_ip
        via = f" for pods at {service_ip}:53 (kube-dns)" if service_ip != host else ""
        console.print(f"  cluster DNS: {host}:{port}{via} (try: dig {at} "
                      f"kubernetes.default.svc.cluster.local)", soft_wrap=True)
    elif components is not None and components.dns_error:
        console.print(f"  [yellow]![/] {components.dns_error}", soft_wrap=True)


def _merge_kubeconfig(config: ServerConfig, target: Path) -> None:
    try:
        merge_admin_context(config, target)
    except MergeError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"  context steersman-{config.cluster_name} merged into {target} "
                  f"(now current)")


main.add_command(hollow_nodes)
main.add_command(image)
main.add_command(agent)
