"""Settings for every test run.

``STEERSMAN_FREEZE_WATCHED=1``: servers started by the tests (in this process or as
children, which inherit the environment) hand their in-process components frozen copies
of watched objects, so a controller that changes a shared informer object in place fails
loudly instead of corrupting the API server's cache.
"""

from __future__ import annotations

import os

os.environ.setdefault("STEERSMAN_FREEZE_WATCHED", "1")
