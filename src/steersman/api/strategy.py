"""Per-resource behaviour the generic registry calls: defaulting and validation.

The API server's one generic CRUD implementation handles metadata (names, uid, timestamps,
generation, resourceVersion, finalizers) for every resource; a :class:`Strategy` adds what is
specific to a kind. Objects are plain JSON-shaped dicts. A strategy never does I/O: anything
that needs state (ClusterIP allocation, namespace existence) lives in the API server.

Call order on create: ``default(obj)`` then ``validate(obj)``; on update:
``default(new)`` then ``validate(new)`` then ``validate_update(new, old)``. Errors are values
(:class:`~steersman.api.errors.FieldError`, field paths like ``spec.containers[0].image``);
the caller turns them into one 422 Invalid.
"""

from __future__ import annotations

from typing import Any, Protocol

from steersman.api.errors import FieldError

Object = dict[str, Any]


class Strategy(Protocol):
    def default(self, obj: Object) -> None:
        """Fill in defaults in place, as kube-apiserver's defaulters do."""

    def prepare_update(self, new: Object, old: Object) -> None:
        """Adjust ``new`` (a spec update of ``old``) before defaulting; most kinds do nothing."""

    def validate(self, obj: Object) -> list[FieldError]:
        """Validate a whole object (spec and status); must not mutate it."""

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        """Extra rules for updates, e.g. immutable fields."""


class NoStrategy:
    """For kinds without kind-specific rules: nothing to default, nothing to reject."""

    def default(self, obj: Object) -> None:
        return None

    def prepare_update(self, new: Object, old: Object) -> None:
        return None

    def validate(self, obj: Object) -> list[FieldError]:
        return []

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        return []
