"""Settings for every test run.

``STEERSMAN_FREEZE_SHARED=1``: servers started by the tests (in this process or as
children, which inherit the environment) hand out frozen copies where they share objects —
watched objects given to in-process components, the ``managedFields`` documents the objects
of one template share — so code that changes a shared object in place fails loudly instead
of corrupting the API server's cache.
"""

from __future__ import annotations

import os

from steersman.api.frozen import FREEZE_SHARED_ENV

os.environ.setdefault(FREEZE_SHARED_ENV, "1")
