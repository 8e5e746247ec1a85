"""steersman.apiserver."""
