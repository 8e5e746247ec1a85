"""A Deployment's ReplicaSets as the controller reads them: counts, order, new versus old.

kubernetes ``deploymentutil`` (``FindNewReplicaSet``, ``FindOldReplicaSets``, the
``GetReplicaCountForReplicaSets`` family) and ``controller``'s ReplicaSet sort orders.
Every function here is pure and takes the ReplicaSets as the API serves them; ``None``
stands for a new ReplicaSet that does not exist yet and counts as empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from steersman.controllers.deployment.hashing import equal_ignore_hash
from steersman.controllers.podstate import created_at

Object = dict[str, Any]


def name_of(obj: Object) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def replicas_of(rs: Object | None) -> int:
    """``spec.replicas`` (what the ReplicaSet is asked to run)."""
    if rs is None:
        return 0
    replicas = (rs.get("spec") or {}).get("replicas")
    return int(replicas) if isinstance(replicas, int) else 1


def _status_count(rs: Object | None, field: str) -> int:
    if rs is None:
        return 0
    return int((rs.get("status") or {}).get(field) or 0)


def actual_of(rs: Object | None) -> int:
    return _status_count(rs, "replicas")


def ready_of(rs: Object | None) -> int:
    return _status_count(rs, "readyReplicas")


def available_of(rs: Object | None) -> int:
    return _status_count(rs, "availableReplicas")


def total_replicas(rss: Iterable[Object | None]) -> int:
    return sum(replicas_of(rs) for rs in rss)


def total_actual(rss: Iterable[Object | None]) -> int:
    return sum(actual_of(rs) for rs in rss)


def total_ready(rss: Iterable[Object | None]) -> int:
    return sum(ready_of(rs) for rs in rss)


def total_available(rss: Iterable[Object | None]) -> int:
    return sum(available_of(rs) for rs in rss)


def active(rss: Iterable[Object | None]) -> list[Object]:
    """The ReplicaSets asked to run at least one pod."""
    return [rs for rs in rss if rs is not None and replicas_of(rs) > 0]


def by_creation(rss: Iterable[Object]) -> list[Object]:
    """Oldest first, names breaking ties (``ReplicaSetsByCreationTimestamp``)."""
    return sorted(rss, key=lambda rs: (created_at(rs), name_of(rs)))


def by_size_newer_first(rss: Iterable[Object]) -> list[Object]:
    """Largest first; of equal size the newer first (``ReplicaSetsBySizeNewer``)."""
    ordered = sorted(rss, key=lambda rs: (created_at(rs), name_of(rs)), reverse=True)
    return sorted(ordered, key=replicas_of, reverse=True)


def by_size_older_first(rss: Iterable[Object]) -> list[Object]:
    """Largest first; of equal size the older first (``ReplicaSetsBySizeOlder``)."""
    return sorted(by_creation(rss), key=replicas_of, reverse=True)


def template_of(obj: Object) -> Object:
    template = (obj.get("spec") or {}).get("template")
    return template if isinstance(template, dict) else {}


def find_new(deployment: Object, rss: Iterable[Object]) -> Object | None:
    """The oldest ReplicaSet whose template is the Deployment's (apart from the hash)."""
    wanted = template_of(deployment)
    for rs in by_creation(rss):
        if equal_ignore_hash(template_of(rs), wanted):
            return rs
    return None


def split_new_old(deployment: Object,
                  rss: list[Object]) -> tuple[Object | None, list[Object]]:
    """(the new ReplicaSet or ``None``, every other ReplicaSet)."""
    new = find_new(deployment, rss)
    new_name = name_of(new) if new is not None else None
    return new, [rs for rs in rss if name_of(rs) != new_name]
