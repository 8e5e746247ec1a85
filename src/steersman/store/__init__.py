"""steersman.store."""
