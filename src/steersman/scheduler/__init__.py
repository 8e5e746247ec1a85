"""The scheduler: assigns pending pods to nodes (upstream kube-scheduler, smaller).

Layout: :mod:`.framework` (extension-point protocols, parsed pod/node types, runtime),
:mod:`.plugins` (one folder per plugin, wired in :mod:`.plugins.registry`), :mod:`.cache`
(assumed pods, snapshot, indexes), :mod:`.queue` (active/backoff/unschedulable),
:mod:`.schedule_one` (one decision) and :mod:`.scheduler` (the loop; I/O injected through
:class:`~.scheduler.Binder` and :class:`~.scheduler.EventRecorder`). It never imports the
store, the API server or the client: the composition layer feeds it informer events.
"""

from steersman.scheduler.clock import Clock, FakeClock, MonotonicClock
from steersman.scheduler.plugins.registry import Profile, default_profile
from steersman.scheduler.scheduler import Binder, EventRecorder, Scheduler

__all__ = ["Binder", "Clock", "EventRecorder", "FakeClock", "MonotonicClock", "Profile",
           "Scheduler", "default_profile"]
