"""A ``default`` ServiceAccount in every namespace (upstream ``pkg/controller/serviceaccount``)."""

from steersman.controllers.serviceaccount.controller import ServiceAccountController

__all__ = ["ServiceAccountController"]
