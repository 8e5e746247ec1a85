"""Persistent volumes: the binder (claims ↔ volumes), the local-path provisioner and PVC
protection."""

from steersman.controllers.volume.binder import PersistentVolumeBinderController
from steersman.controllers.volume.local_path import LocalPathProvisioner
from steersman.controllers.volume.protection import PVCProtectionController

__all__ = ["LocalPathProvisioner", "PVCProtectionController",
           "PersistentVolumeBinderController"]
