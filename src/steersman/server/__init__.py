"""steersman.server."""
