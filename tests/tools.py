"""Test helpers for optional tools: skip with a reason, or fail under STEERSMAN_REQUIRE=all."""

from __future__ import annotations

import os
import shutil

import pytest


def required_everything() -> bool:
    return os.environ.get("STEERSMAN_REQUIRE", "") == "all"


def need_tool(name: str, why: str = "") -> str:
    """Return the path of ``name`` or skip (fail under STEERSMAN_REQUIRE=all)."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed" + (f" ({why})" if why else "")
    if required_everything():
        pytest.fail(message + "; STEERSMAN_REQUIRE=all forbids skipping", pytrace=False)
    pytest.skip(message)
