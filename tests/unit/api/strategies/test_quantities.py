"""Quantity canonicalisation of numbers and the hook the API server wires."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from steersman.api.strategies import canonicalize_quantities
from steersman.api.strategies.quantities import number_quantity, parse_quantity


@pytest.mark.parametrize(("value", "expected"), [
    (1, "1"), (0.5, "500m"), (1073741824, "1073741824"), (2000, "2k"), (1e9, "1G"),
    (0, "0"), (0.0000000001, "1e-9"), ("128Mi", "128Mi"),
])
def test_number_quantity(value: Any, expected: str) -> None:
    assert number_quantity(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("1Gi", Decimal(2**30)), ("500m", Decimal("0.5")), ("1e3", Decimal(1000)),
    ("1.5", Decimal("1.5")), ("abc", None), ("1Gb", None),
])
def test_parse_quantity(value: str, expected: Decimal | None) -> None:
    assert parse_quantity(value) == expected


def test_hook_walks_pod_templates_with_the_given_canonicaliser() -> None:
    deploy = {"kind": "Deployment", "spec": {"template": {"spec": {
        "containers": [{"resources": {"limits": {"memory": "1024Mi"}}}],
        "volumes": [{"emptyDir": {"sizeLimit": 1}}]}}}}
    canonicalize_quantities(deploy, lambda v: f"<{v}>")
    spec = deploy["spec"]["template"]["spec"]
    assert spec["containers"][0]["resources"]["limits"] == {"memory": "<1024Mi>"}
    assert spec["volumes"][0]["emptyDir"]["sizeLimit"] == "<1>"
