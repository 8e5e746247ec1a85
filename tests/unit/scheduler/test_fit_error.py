"""FitError message: upstream's words, counts and string sort."""

from steersman.scheduler.framework.fit_error import FitError
from steersman.scheduler.framework.interface import unresolvable, unschedulable


def test_histogram_sorts_as_strings_like_upstream() -> None:
    statuses = {f"n{i}": unschedulable("Insufficient cpu") for i in range(10)}
    statuses["t"] = unresolvable("node(s) had untolerated taint {a: b}")
    statuses["m"] = unschedulable("Insufficient cpu", "Insufficient memory")
    message = FitError(12, statuses).message()
    assert message == ("0/12 nodes are available: 1 Insufficient memory, 1 node(s) had "
                       "untolerated taint {a: b}, 11 Insufficient cpu.")


def test_prefilter_message_replaces_the_histogram() -> None:
    status = unresolvable("node(s) didn't match pod topology spread constraints")
    fit = FitError(2, {"a": status, "b": status}, pre_filter_message=status.message(),
                   post_filter_message="preemption: 0/2 nodes are available: 2 Preemption is "
                                       "not helpful for scheduling.")
    assert fit.message() == (
        "0/2 nodes are available: node(s) didn't match pod topology spread constraints. "
        "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")
