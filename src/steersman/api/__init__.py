"""steersman.api."""
