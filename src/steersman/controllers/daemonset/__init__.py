"""The DaemonSet controller: :mod:`.eligibility` (which nodes), :mod:`.plan` (what next,
pure), :mod:`.controller` (reads caches, writes through the client)."""

from steersman.controllers.daemonset.controller import DaemonSetController

__all__ = ["DaemonSetController"]
