"""The StatefulSet controller: :mod:`.identity` (names, labels, claims), :mod:`.plan` (next
steps and status, pure), :mod:`.controller` (reads caches, writes through the client)."""

from steersman.controllers.statefulset.controller import StatefulSetController

__all__ = ["StatefulSetController"]
