"""VolumeBinding: claims must exist; bound volumes pin nodes; WFFC claims get a node."""

from steersman.scheduler.plugins.volume_binding.volume_binding import NAME, VolumeBinding, new

__all__ = ["NAME", "VolumeBinding", "new"]
