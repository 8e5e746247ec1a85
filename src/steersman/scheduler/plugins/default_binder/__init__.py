"""DefaultBinder: binds through the injected API (the pod's ``binding`` subresource)."""

from steersman.scheduler.plugins.default_binder.default_binder import NAME, DefaultBinder, new

__all__ = ["NAME", "DefaultBinder", "new"]
