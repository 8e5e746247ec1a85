"""DefaultTolerationSeconds: new pods tolerate not-ready/unreachable for 300 s."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.api.builtin import builtin_registry
from steersman.apiserver.tolerations_admission import (
    NOT_READY,
    UNREACHABLE,
    DefaultTolerationSeconds,
)

Object = dict[str, Any]


def default(key: str) -> Object:
    return {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}


@pytest.mark.parametrize(("given", "added"), [
    ([], [default(NOT_READY), default(UNREACHABLE)]),
    ([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
       "tolerationSeconds": 2}], [default(NOT_READY)]),
    ([{"operator": "Exists"}], []),
    ([{"key": NOT_READY, "operator": "Exists"}], [default(UNREACHABLE)]),
    ([{"key": NOT_READY, "operator": "Exists", "effect": "NoSchedule"}],
     [default(NOT_READY), default(UNREACHABLE)]),
])
async def test_adds_missing_tolerations(given: list[Object], added: list[Object]) -> None:
    info = builtin_registry().get("", "v1", "pods")
    assert info is not None
    pod: Object = {"metadata": {"name": "p"}, "spec": {"tolerations": list(given)}}
    await DefaultTolerationSeconds().admit(info, "CREATE", pod, None, dry_run=False)
    assert pod["spec"]["tolerations"] == [*given, *added]


async def test_leaves_updates_and_other_kinds_alone() -> None:
    registry = builtin_registry()
    pods, services = registry.get("", "v1", "pods"), registry.get("", "v1", "services")
    assert pods is not None and services is not None
    pod: Object = {"metadata": {"name": "p"}, "spec": {}}
    await DefaultTolerationSeconds().admit(pods, "UPDATE", pod, pod, dry_run=False)
    await DefaultTolerationSeconds().admit(services, "CREATE", pod, None, dry_run=False)
    assert pod["spec"] == {}
