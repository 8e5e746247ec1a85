"""Request bodies nesting past MAX_DEPTH are a 400, whether or not the bracket count is checked
or bounds the walk."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from steersman.api import errors
from steersman.apiserver import negotiation as neg


def _nested(levels: int) -> Any:
    value: Any = "leaf"
    for level in range(levels - 1):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize("levels", [1, 2, neg.MAX_DEPTH - 1, neg.MAX_DEPTH])
def test_bodies_up_to_max_depth_are_accepted(levels: int) -> None:
    data = _nested(levels)
    assert neg.parse_document(orjson.dumps(data), neg.JSON) == data
    neg.check_depth(data)


@pytest.mark.parametrize("levels", [neg.MAX_DEPTH + 1, neg.MAX_DEPTH + 50])
def test_deeper_bodies_are_rejected(levels: int) -> None:
    for content_type in (neg.JSON, "application/yaml"):
        with pytest.raises(errors.StatusError) as caught:
            neg.parse_document(orjson.dumps(_nested(levels)), content_type)
        assert caught.value.code == 400


def test_brackets_inside_strings_only_make_the_check_stricter() -> None:
    data = {"metadata": {"name": "x", "annotations": {"a": "{[" * 200}}}
    assert neg.parse_document(orjson.dumps(data), neg.JSON) == data


def test_empty_containers_at_the_limit_count_as_a_level() -> None:
    deepest_empty: Any = {}
    for _ in range(neg.MAX_DEPTH):
        deepest_empty = [deepest_empty]
    with pytest.raises(errors.StatusError):
        neg.check_depth(deepest_empty)


def _rejects_by_walk(data: Any) -> bool:
    """The check as first written, one value at a time: the reference for the level walk."""
    stack: list[tuple[Any, int]] = [(data, 1)] if isinstance(data, (dict, list)) else []
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if depth >= neg.MAX_DEPTH and children:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False


def _random_tree(rng: random.Random, depth: int) -> Any:
    """Wide shallow parts beside one deep spine, ending in a scalar or an empty container."""
    spine: Any = rng.choice(["leaf", 1, None, {}, []])
    for level in range(depth - 1):
        siblings = [rng.choice([{}, [], "s", {"a": [1, {}]}]) for _ in range(rng.randrange(3))]
        spine = [*siblings, spine] if level % 2 else {
            **{f"s{i}": sibling for i, sibling in enumerate(siblings)}, "k": spine}
    return spine


@pytest.mark.parametrize("seed", range(40))
def test_level_walk_agrees_with_the_value_walk(seed: int) -> None:
    rng = random.Random(seed)
    data = _random_tree(rng, rng.choice([1, 2, 50, neg.MAX_DEPTH - 1, neg.MAX_DEPTH,
                                         neg.MAX_DEPTH + 1, neg.MAX_DEPTH + 2]))
    if _rejects_by_walk(data):
        with pytest.raises(errors.StatusError):
            neg.check_depth(data)
    else:
        neg.check_depth(data)


def _openings(data: Any) -> int:
    encoded = orjson.dumps(data)
    return encoded.count(b"{") + encoded.count(b"[")


@pytest.mark.parametrize("seed", range(40))
def test_a_bound_on_the_containers_only_stops_the_walk_early(seed: int) -> None:
    """Any count no lower than the containers' (a body's brackets, strings' included) gives
    the walk's verdict, and so does the whole body."""
    rng = random.Random(seed)
    data = _random_tree(rng, rng.choice([1, 2, 50, neg.MAX_DEPTH - 1, neg.MAX_DEPTH,
                                         neg.MAX_DEPTH + 1, neg.MAX_DEPTH + 2]))
    if rng.random() < 0.5:
        data = {"s": "{[" * rng.randrange(60), "d": data}
    rejected = _rejects_by_walk(data)
    for bound in (_openings(data), _openings(data) + rng.randrange(1, 200)):
        if rejected:
            with pytest.raises(errors.StatusError):
                neg.check_depth(data, bound)
        else:
            neg.check_depth(data, bound)
    if rejected:
        with pytest.raises(errors.StatusError):
            neg.parse_document(orjson.dumps(data), neg.JSON)
    else:
        assert neg.parse_document(orjson.dumps(data), neg.JSON) == data


def test_a_wide_body_with_one_deep_branch_is_still_walked_to_its_end() -> None:
    """Many shallow containers beside a spine exactly as deep as the limit allows, then one
    level deeper: the count cannot rule the spine out, and the walk finds it."""
    wide = {"managedFields": [{"f:x": {"f:y": {}}} for _ in range(80)]}
    for levels, rejected in ((neg.MAX_DEPTH - 1, False), (neg.MAX_DEPTH + 1, True)):
        data = {**wide, "spine": _nested(levels - 1)}
        if rejected:
            with pytest.raises(errors.StatusError):
                neg.parse_document(orjson.dumps(data), neg.JSON)
        else:
            assert neg.parse_document(orjson.dumps(data), neg.JSON) == data
