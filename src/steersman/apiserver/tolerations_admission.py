"""DefaultTolerationSeconds admission: pods tolerate a lost node for 5 minutes by default.

Upstream ``plugin/pkg/admission/defaulttolerationseconds``: a new pod that does not already
tolerate ``node.kubernetes.io/not-ready`` (or ``unreachable``) with effect NoExecute — a
toleration with an empty key or an empty effect counts — gets ``operator: Exists,
effect: NoExecute, tolerationSeconds: 300`` for it. The node-lifecycle controllers then
evict such a pod 300 s after its node was tainted, not at once. Only creates are admitted
(upstream also handles updates, which only matter for pods created before the plugin ran).
"""

from __future__ import annotations

from typing import Any

from steersman.api.resources import ResourceInfo

Object = dict[str, Any]
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300


def tolerates_no_execute(tolerations: list[Any], key: str) -> bool:
    return any(isinstance(t, dict) and (t.get("key") or "") in ("", key)
               and (t.get("effect") or "") in ("", "NoExecute") for t in tolerations)


class DefaultTolerationSeconds:
    """Adds the not-ready and unreachable NoExecute tolerations a new pod lacks."""

    def __init__(self, seconds: int = DEFAULT_TOLERATION_SECONDS) -> None:
        self._seconds = seconds

    async def admit(self, info: ResourceInfo, op: str, new: Object | None, old: Object | None,
                    *, dry_run: bool) -> None:
        if op != "CREATE" or new is None or (info.group, info.kind) != ("", "Pod"):
            return
        spec = new.setdefault("spec", {})
        tolerations = spec.get("tolerations") or []
        for key in (NOT_READY, UNREACHABLE):
            if not tolerates_no_execute(tolerations, key):
                tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                    "tolerationSeconds": self._seconds})
        spec["tolerations"] = tolerations

    async def rollback(self, info: ResourceInfo, op: str, new: Object | None,
                       old: Object | None) -> None:
        return None
