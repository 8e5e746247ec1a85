"""CustomResourceDefinitions in the API server: their controller and their admission.

The pure parts live in :mod:`steersman.api`: CRD defaulting and validation in
:mod:`steersman.api.strategies.apiextensions`, custom resources' pruning, defaulting,
validation, read conversion and scale in :mod:`steersman.api.custom_resources` and
:mod:`steersman.api.crschema`. Here: :class:`CustomResourceDefinitions` (serve, name,
establish, finalize) and :class:`CustomResourceAdmission` (finalizer, terminating CRDs).
"""

from steersman.apiserver.crd.admission import CustomResourceAdmission
from steersman.apiserver.crd.controller import CustomResourceDefinitions

__all__ = ["CustomResourceAdmission", "CustomResourceDefinitions"]
