"""steersman: a small, fast, Kubernetes-compatible container orchestrator."""

__version__ = "0.1.0"

