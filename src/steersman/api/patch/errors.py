"""The errors every patch type raises, split by the HTTP answer kube-apiserver gives.

:class:`MalformedPatch` means the request itself is wrong (a bad operation, a bad JSON
pointer, a directive of the wrong shape): the API server answers 400 BadRequest.
:class:`PatchTestFailed` means a well-formed patch does not apply to the stored object (a
JSON-patch ``test`` that does not hold, a path that does not exist): the API server answers
422 Invalid, which kopf relies on to detect a resourceVersion race. The HTTP layer does the
translation; this package only raises.
"""

from __future__ import annotations


class PatchError(Exception):
    """A patch could not be applied; the message is meant for the client."""


class MalformedPatch(PatchError):
    """The patch is structurally invalid (answered with 400 BadRequest)."""


class PatchTestFailed(PatchError):
    """The patch does not apply to this document (answered with 422 Invalid)."""
