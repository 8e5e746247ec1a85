"""PodDisruptionBudget status (upstream ``pkg/controller/disruption``).

:mod:`.budget` is the arithmetic, :mod:`.scale` reads the owning controllers' scale,
:mod:`.controller` wires it to the caches and writes the status.
"""

from steersman.controllers.disruption.controller import DisruptionController

__all__ = ["DisruptionController"]
