"""Score normalisation shared by plugins (upstream ``plugins/helper/normalize_score.go``)."""

from __future__ import annotations

from steersman.scheduler.framework.interface import MAX_NODE_SCORE


def default_normalize(scores: list[int], *, reverse: bool = False) -> None:
    """Scale so the highest score becomes 100; ``reverse`` flips (fewer is better)."""
    highest = max(scores) if any(scores) else 0  # all 0 (common): one pass, no comparisons
    if highest == 0:
        if reverse:
            scores[:] = [MAX_NODE_SCORE] * len(scores)
        return
    if reverse:
        scores[:] = [MAX_NODE_SCORE - MAX_NODE_SCORE * score // highest for score in scores]
    else:
        scores[:] = [MAX_NODE_SCORE * score // highest for score in scores]


def min_max_normalize(scores: list[int]) -> None:
    """Map [min, max] onto [0, 100]; all equal → 0 (InterPodAffinity's rule)."""
    if not scores:
        return
    low, high = min(scores), max(scores)
    spread = high - low
    scores[:] = [int(MAX_NODE_SCORE * (s - low) / spread) if spread > 0 else 0 for s in scores]
