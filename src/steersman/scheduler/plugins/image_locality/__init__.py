"""ImageLocality: prefer nodes that already hold the pod's images."""

from steersman.scheduler.plugins.image_locality.image_locality import NAME, ImageLocality, new

__all__ = ["NAME", "ImageLocality", "new"]
