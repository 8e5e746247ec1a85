"""The garbage collector: ownerReferences, and background, foreground and orphan deletion.

* :mod:`.decisions` — what to do about one object, as pure functions of its state;
* :mod:`.graph` — owners by uid and dependents by owner uid, over the informers' indexes;
* :mod:`.controller` — :class:`GarbageCollector`, which monitors every deletable resource
  found by discovery (custom resources included) and carries the decisions out.
"""

from steersman.controllers.garbagecollector.controller import GarbageCollector

__all__ = ["GarbageCollector"]
