"""``--service-cidr`` and ``--cluster-dns``: ranges pods cannot reach are usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from steersman.cli.agent import agent
from steersman.cli.main import main


@pytest.mark.parametrize(("args", "complaint"), [
    (["server", "--service-cidr", "10.96.0.0/12"], "must be inside 127.0.0.0/8"),
    (["server", "--service-cidr", "nope"], "is not an IPv4 network"),
    (["up", "--network", "bridge", "--service-cidr", "127.43.0.0/16"],
     "with --network bridge the service range must be inside 10.43.0.0/16"),
    (["up", "--service-cidr", "10.43.0.0/16"],
     "with --network host the service range must be inside 127.0.0.0/8"),
])
def test_service_ranges_pods_cannot_reach_are_refused(args: list[str], complaint: str,
                                                       tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [*args, "--data-dir", str(tmp_path / "d"), "--port", "0"])
    assert result.exit_code == 2, result.output
    assert complaint in " ".join(result.output.split())
    assert not (tmp_path / "d").exists()  # refused before anything started


def test_cluster_dns_must_be_an_address(tmp_path: Path) -> None:
    result = CliRunner().invoke(agent, ["--node-name", "n", "--data-dir", str(tmp_path / "d"),
                                        "--cluster-dns", "kube-dns"])
    assert result.exit_code == 2, result.output
    assert "--cluster-dns: 'kube-dns' is not an IPv4 address" in result.output
