"""The horizontal pod autoscaler controller (kubernetes ``pkg/controller/podautoscaler``).

* :mod:`.controller` — the reconcile loop and its I/O (scale subresource, pods, metrics);
* :mod:`.decision` — one reconcile's decision, without I/O;
* :mod:`.replicas` — the replica count one resource metric asks for;
* :mod:`.behavior` — stabilization windows and scaling policies;
* :mod:`.metrics` — metric specs, ``metrics.k8s.io`` samples, pod facts;
* :mod:`.status` — conditions and the status block.
"""

from steersman.controllers.horizontalpodautoscaler.controller import (
    HPAS,
    HorizontalPodAutoscalerController,
)

__all__ = ["HPAS", "HorizontalPodAutoscalerController"]
