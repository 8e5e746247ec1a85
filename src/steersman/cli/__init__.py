"""steersman.cli."""
