"""The TTL-after-finished controller (deletes finished Jobs after their TTL)."""

from steersman.controllers.ttlafterfinished.controller import TTLAfterFinishedController

__all__ = ["TTLAfterFinishedController"]
