"""Namespace deletion: a terminating namespace is emptied, then finalized.

* :mod:`.conditions` — what remains, as kube's namespace status conditions (pure);
* :mod:`.deleter` — one pass deleting every namespaced resource's objects;
* :mod:`.controller` — :class:`NamespaceController`, which repeats passes until nothing
  remains and then removes the ``kubernetes`` finalizer.
"""

from steersman.controllers.namespace.controller import NamespaceController

__all__ = ["NamespaceController"]
