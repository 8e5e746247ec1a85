"""The cluster's admin context in the user's own kubeconfig (``up --merge-kubeconfig``).

The CLI may not reach into the API server's modules (import contract), so the composition
layer offers the one operation it needs: merge the ``steersman-<cluster>`` cluster, user
and context of the admin kubeconfig into another kubeconfig and make it current.
"""

from __future__ import annotations

from pathlib import Path

from steersman.apiserver.kubeconfig import KubeconfigError, merge_into_kubeconfig
from steersman.server.controlplane import ServerConfig


class MergeError(Exception):
    """The target kubeconfig could not be read or written; the message says which and why."""


def merge_admin_context(config: ServerConfig, target: Path) -> None:
    """Merge the cluster's admin context into ``target`` (created if missing)."""
    try:
        merge_into_kubeconfig(target, config.kubeconfig_path)
    except (OSError, KubeconfigError) as exc:
        raise MergeError(
            f"cannot merge the steersman-{config.cluster_name} context into {target}: {exc}; "
            f"fix or move that file, or use KUBECONFIG={config.kubeconfig_path}") from exc
