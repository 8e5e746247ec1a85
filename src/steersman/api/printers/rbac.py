"""rbac.authorization.k8s.io/v1 rows: RoleBinding and ClusterRoleBinding.

Role and ClusterRole have no printer upstream; they print with the default columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import age, items, name_of, text
from steersman.api.printers.columns import AGE, NAME, WIDE, Printer, api, col


def _binding(obj: Mapping[str, Any], now: float) -> list[Any]:
    role = f"{text(obj, 'roleRef', 'kind')}/{text(obj, 'roleRef', 'name')}"
    users, groups, service_accounts = _subjects(items(obj, "subjects"))
    return [
        name_of(obj), role, age(obj, now),
        ", ".join(users), ", ".join(groups), ", ".join(service_accounts),
    ]


def _subjects(subjects: list[Any]) -> tuple[list[str], list[str], list[str]]:
    """``rbac.SubjectsStrings``: user names, group names, ``namespace/name`` of accounts."""
    users: list[str] = []
    groups: list[str] = []
    service_accounts: list[str] = []
    for subject in subjects:
        kind, name = text(subject, "kind"), text(subject, "name")
        if kind == "ServiceAccount":
            service_accounts.append(f"{text(subject, 'namespace')}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
    return users, groups, service_accounts


def _columns(kind: str, noun: str) -> tuple[Any, ...]:
    return (
        NAME,
        col("Role", api(f"rbac.v1.{kind}", "roleRef")),
        AGE,
        col("Users", f"Users in the {noun}", priority=WIDE),
        col("Groups", f"Groups in the {noun}", priority=WIDE),
        col("ServiceAccounts", f"ServiceAccounts in the {noun}", priority=WIDE),
    )


PRINTERS = {
    "RoleBinding": Printer(_columns("RoleBinding", "roleBinding"), _binding),
    "ClusterRoleBinding": Printer(_columns("ClusterRoleBinding", "clusterRoleBinding"), _binding),
}
