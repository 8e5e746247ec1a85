"""steersman.client."""
