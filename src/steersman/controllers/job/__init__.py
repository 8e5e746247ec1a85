"""The Job controller: :mod:`.accounting` (counting pods once), :mod:`.decision` (done? how
many pods?), :mod:`.conditions`, :mod:`.pods` (what it creates) — all pure — and
:mod:`.controller`, which reads the caches and writes through the client."""

from steersman.controllers.job.controller import JobController

__all__ = ["JobController"]
