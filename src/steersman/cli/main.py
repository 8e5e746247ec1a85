"""The ``steersman`` command: ``server`` runs the control plane, ``up`` a whole local cluster.

Until the node agent exists, ``up`` starts the control plane alone and says so. Both print
where the admin kubeconfig is, and ``up`` prints the ``export KUBECONFIG=…`` line.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path

import click
from rich.console import Console

from steersman import __version__
from steersman.apiserver.kubeconfig import KubeconfigError, merge_into_kubeconfig
from steersman.cli.agent import agent
from steersman.cli.hollow import hollow_nodes
from steersman.cli.image import image
from steersman.cli.signals import wait_for_stop_signal
from steersman.server.controlplane import ControlPlane, ServerConfig, default_data_dir
from steersman.server.localnodes import LocalNodes

console = Console(stderr=True)
# A server's heap is mostly the watch cache: millions of long-lived dicts that every full
# collection walks (pauses of a second or more at 30k pods, the p99 of every write). Young
# garbage is still collected, in bigger batches; full collections wait for far more growth,
# and what exists once the server is up (a reloaded cache, the built-in objects) is left
# out of them: plain JSON objects hold no cycles and are freed by reference counting anyway.
_GC_THRESHOLDS = (50_000, 20, 100)


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
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _config(cluster_name: str, data_dir: Path | None, bind_address: str, port: int,
            store_url: str, insecure_http: bool, controllers: str,
            leader_elect: bool, scheduler: bool) -> ServerConfig:
    selection = tuple(name.strip() for name in controllers.split(",") if name.strip())
    return ServerConfig(data_dir=data_dir or default_data_dir(cluster_name),
                        cluster_name=cluster_name, bind_address=bind_address, port=port,
                        store_url=store_url, insecure_http=insecure_http,
                        controllers=selection, leader_elect=leader_elect,
                        scheduler=scheduler)


@main.command()
@_server_options
def server(**kwargs: object) -> None:
    """Run the control plane (API server and store)."""
    config = _config(**kwargs)  # type: ignore[arg-type]
    asyncio.run(_run(config, announce_export=False))


@main.command()
@_server_options
@click.option("--nodes", type=click.IntRange(0, 32), default=1, show_default=True,
              help="Node agents to run on this machine.")
@click.option("--runtime", type=click.Choice(("process", "crun", "runc")), default="process",
              show_default=True, help="Container runtime of the nodes (crun/runc need root).")
@click.option("--merge-kubeconfig", "merge_kubeconfig", is_flag=False, flag_value=str(
              Path("~/.kube/config")), default=None, metavar="[PATH]",
              help="Also merge the steersman-NAME context into PATH [default: ~/.kube/config] "
                   "and make it the current context.")
def up(nodes: int, runtime: str, merge_kubeconfig: str | None, **kwargs: object) -> None:
    """Start a local cluster in one process and print how to use it."""
    config = _config(**kwargs)  # type: ignore[arg-type]
    merge_into = Path(merge_kubeconfig).expanduser() if merge_kubeconfig else None
    asyncio.run(_run(config, announce_export=True, nodes=nodes, runtime=runtime,
                     merge_into=merge_into))


async def _run(config: ServerConfig, *, announce_export: bool, nodes: int = 0,
               runtime: str = "process", merge_into: Path | None = None) -> None:
    gc.set_threshold(*_GC_THRESHOLDS)
    plane = ControlPlane(config)
    with console.status("starting the control plane…"):
        try:
            await plane.start()
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {config.bind_address}:{config.port}: {exc.strerror}; "
                f"pick another port with --port (0 = any free port)") from exc
    gc.collect()
    gc.freeze()
    console.print(f"[green]✓[/] API server ready at [bold]{plane.url}[/] "
                  f"(store: {config.store})")
    console.print(f"  admin kubeconfig: {config.kubeconfig_path}")
    if merge_into is not None:
        _merge_kubeconfig(config, merge_into)
    local = LocalNodes(config.kubeconfig_path, config.data_dir, cluster=config.cluster_name,
                       count=nodes, runtime=runtime)
    if nodes:
        with console.status(f"starting {nodes} node(s) with the {runtime} runtime…"):
            await local.start()
        console.print(f"  nodes: {', '.join(local.names)} (runtime {runtime})")
    if announce_export:
        click.echo(f"export KUBECONFIG={config.kubeconfig_path}", err=False)
    await wait_for_stop_signal()
    with console.status("stopping…"):
        await local.stop()
        await plane.stop()


def _merge_kubeconfig(config: ServerConfig, target: Path) -> None:
    try:
        merge_into_kubeconfig(target, config.kubeconfig_path)
    except (OSError, KubeconfigError) as exc:
        raise click.ClickException(
            f"cannot merge the steersman-{config.cluster_name} context into {target}: {exc}; "
            f"fix or move that file, or use KUBECONFIG={config.kubeconfig_path}") from exc
    console.print(f"  context steersman-{config.cluster_name} merged into {target} "
                  f"(now current)")


main.add_command(hollow_nodes)
main.add_command(image)
main.add_command(agent)
