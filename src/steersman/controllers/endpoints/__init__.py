"""Legacy core/v1 Endpoints for Services with selectors (upstream ``pkg/controller/endpoint``).

:mod:`.subsets` computes the object, :mod:`.controller` keeps it written.
"""

from steersman.controllers.endpoints.controller import EndpointsController

__all__ = ["EndpointsController"]
