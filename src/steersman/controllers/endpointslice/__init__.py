"""EndpointSlices for Services with selectors (upstream ``pkg/controller/endpointslice``).

:mod:`.desired` computes the endpoints, :mod:`.planner` the writes, :mod:`.tracker`
guards against acting on a cache that has not seen our own writes, :mod:`.controller`
wires informers and the work queue.
"""

from steersman.controllers.endpointslice.controller import EndpointSliceController

__all__ = ["EndpointSliceController"]
