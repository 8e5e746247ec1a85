"""``steersman image``: import, list and remove the images of a node's image store.

The store is the node agent's (:mod:`steersman.kubelet.images`): by default
``$XDG_DATA_HOME/steersman/<cluster>/agent/images`` (``--name`` picks the cluster,
``--data-dir`` the store directory itself). These commands work on the files directly and
need no running agent; they are safe beside one (records are locked, rootfs in use kept).
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from steersman.kubelet.images import ImageError, ImageRecord, ImageStore, import_archive
from steersman.server.controlplane import default_data_dir

console = Console()


def default_images_dir(cluster: str) -> Path:
    return default_data_dir(cluster) / "agent" / "images"


@click.group()
@click.option("--name", "cluster_name", default="default", show_default=True,
              help="Cluster name; the default store directory is derived from it.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Image store directory [default: $XDG_DATA_HOME/steersman/NAME/agent/"
                   "images].")
@click.pass_context
def image(ctx: click.Context, cluster_name: str, data_dir: Path | None) -> None:
    """Manage the node's image store."""
    ctx.obj = data_dir or default_images_dir(cluster_name)


@image.command("import")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--tag", default=None, help="Name the image REF (for archives without a name).")
@click.pass_obj
def import_(root: Path, file: Path, tag: str | None) -> None:
    """Import an OCI image layout or docker-archive (`docker save`) tarball."""
    try:
        records = import_archive(ImageStore(root), file, tag=tag)
    except ImageError as exc:
        raise click.ClickException(str(exc)) from exc
    for record in records:
        click.echo(f"imported {record.name} ({_short(record.digest)})")


@image.command("ls")
@click.pass_obj
def list_(root: Path) -> None:
    """List images: reference, digest, size, last used."""
    store = ImageStore(root)
    table = Table(box=None, header_style="bold")
    for column in ("REF", "DIGEST", "SIZE", "LAST USED"):
        table.add_column(column)
    now = time.time()
    for record in store.images():
        table.add_row(record.name, _short(record.digest), _size(record.size),
                      _ago(now - record.last_used))
    console.print(table)


@image.command("rm")
@click.argument("refs", nargs=-1, required=True)
@click.pass_obj
def remove(root: Path, refs: tuple[str, ...]) -> None:
    """Remove images by reference or digest; their unused blobs and rootfs go too."""
    store = ImageStore(root)
    try:
        for ref in refs:
            record: ImageRecord = store.remove(ref)
            click.echo(f"deleted {record.name}")
    except ImageError as exc:
        raise click.ClickException(str(exc)) from exc


def _short(digest: str) -> str:
    return digest.partition(":")[2][:12]


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _ago(seconds: float) -> str:
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{int(seconds // length)}{unit} ago"
    return f"{max(int(seconds), 0)}s ago"
