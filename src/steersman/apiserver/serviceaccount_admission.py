"""ServiceAccount admission, its defaulting part: every new pod runs as a service account.

A pod created without ``spec.serviceAccountName`` gets ``default``, and the deprecated
``spec.serviceAccount`` mirrors it (kube's ``plugin/pkg/admission/serviceaccount``). The
``default`` account itself is made in each namespace by the service-account controller,
so this plugin does not require the account to exist yet. Mounting the projected token
volume is the node agent's part.
"""

from __future__ import annotations

from typing import Any

from steersman.api.resources import ResourceInfo

Object = dict[str, Any]
DEFAULT_SERVICE_ACCOUNT = "default"


class ServiceAccountDefaults:
    """Defaults a new pod's service account to ``default``; legacy field kept in step."""

    async def admit(self, info: ResourceInfo, op: str, new: Object | None, old: Object | None,
                    *, dry_run: bool) -> None:
        if op != "CREATE" or new is None or (info.group, info.kind) != ("", "Pod"):
            return
        spec = new.setdefault("spec", {})
        name = spec.get("serviceAccountName") or spec.get("serviceAccount")
        spec["serviceAccountName"] = spec["serviceAccount"] = name or DEFAULT_SERVICE_ACCOUNT

    async def rollback(self, info: ResourceInfo, op: str, new: Object | None,
                       old: Object | None) -> None:
        return None
