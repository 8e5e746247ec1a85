"""Job and CronJob defaults, the generated selector, validation and the cron check."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.api.strategies import default_job_selector, strategy_for
from steersman.api.strategies.cron import schedule_errors
from tests.unit.api.strategies.helpers import causes, defaulted, update_causes


def job(restart: str = "Never", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"template": {"spec": {
        "containers": [{"name": "pi", "image": "perl:5.34"}], "restartPolicy": restart}}}
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default"}, "spec": body}


def created_job(**spec: Any) -> dict[str, Any]:
    out = defaulted("batch", job(**spec))
    default_job_selector(out, "uid-1")
    return out


def test_job_defaults_and_generated_selector() -> None:
    out = created_job()
    spec = out["spec"]
    assert {k: v for k, v in spec.items() if k not in ("template", "selector")} == {
        "backoffLimit": 6, "completionMode": "NonIndexed", "completions": 1,
        "manualSelector": False, "parallelism": 1,
        "podReplacementPolicy": "TerminatingOrFailed", "suspend": False}
    labels = {"batch.kubernetes.io/controller-uid": "uid-1", "batch.kubernetes.io/job-name": "pi",
              "controller-uid": "uid-1", "job-name": "pi"}
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "uid-1"}}
    assert spec["template"]["metadata"]["labels"] == labels
    assert out["metadata"]["labels"] == labels
    assert strategy_for("batch", "Job").validate(out) == []


def test_parallelism_alone_leaves_completions_unset() -> None:
    spec = defaulted("batch", job(parallelism=3))["spec"]
    assert spec["parallelism"] == 3
    assert "completions" not in spec


def test_default_restart_policy_is_rejected_for_jobs() -> None:
    bad = job()
    del bad["spec"]["template"]["spec"]["restartPolicy"]
    out = defaulted("batch", bad)
    default_job_selector(out, "u")
    assert [f"{e.field}: {e.message}" for e in strategy_for("batch", "Job").validate(out)] == [
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
        '"OnFailure", "Never"']


def test_manual_selector_must_be_given() -> None:
    assert causes("batch", job(manualSelector=True)) == ["spec.selector: Required value"]


def test_job_selector_and_completions_are_immutable() -> None:
    old = created_job()
    new = created_job(completions=3)
    assert update_causes("batch", new, old) == [
        "spec.completions: Invalid value: 3: field is immutable"]


def cronjob(schedule: str = "*/5 * * * *", name: str = "tick", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"schedule": schedule, "jobTemplate": {"spec": job()["spec"]}}
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": name, "namespace": "default"}, "spec": body}


def test_cronjob_defaults() -> None:
    spec = defaulted("batch", cronjob())["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"], spec["successfulJobsHistoryLimit"],
            spec["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    assert spec["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    assert "backoffLimit" not in spec["jobTemplate"]["spec"]
    assert causes("batch", cronjob()) == []


@pytest.mark.parametrize(("obj", "expected"), [
    (cronjob(schedule=""), ["spec.schedule: Required value"]),
    (cronjob(schedule="every minute"),
     ['spec.schedule: Invalid value: "every minute": expected exactly 5 fields, found 2: '
      "[every minute]"]),
    (cronjob(concurrencyPolicy="Sometimes"),
     ['spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", '
      '"Forbid", "Replace"']),
    (cronjob(name="x" * 53),
     [f'metadata.name: Invalid value: "{"x" * 53}": must be no more than 52 characters']),
])
def test_cronjob_validation(obj: dict[str, Any], expected: list[str]) -> None:
    assert causes("batch", obj) == expected


@pytest.mark.parametrize(("schedule", "error"), [
    ("0 * * * *", None), ("@hourly", None), ("@every 5m", None), ("0 9 * * MON-FRI", None),
    ("*/15 0-6,18-23 1 JAN *", None), ("0 0 ? * *", None),
    ("60 * * * *", "end of range (60) above maximum (59): 60"),
    ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("@often", "unrecognized descriptor: @often"),
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
])
def test_schedule_errors(schedule: str, error: str | None) -> None:
    assert schedule_errors(schedule) == error
