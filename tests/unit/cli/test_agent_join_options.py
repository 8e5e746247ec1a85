"""``steersman agent`` join options: contradictions and malformed tokens are usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from steersman.cli.agent import agent

TOKEN = "K10" + "a" * 64 + "::abcdef.0123456789abcdef"


@pytest.mark.parametrize(("args", "complaint"), [
    (["--token", TOKEN], "--token and --token-file need --server URL"),
    (["--server", "http://127.0.0.1:6443", "--token", TOKEN], "must be an https:// URL"),
    (["--server", "https://127.0.0.1:6443", "--token", "nope"], "must look like K10"),
    (["--server", "https://127.0.0.1:6443", "--token", TOKEN, "--token-file", "{file}"],
     "give the join token once"),
    (["--server", "https://127.0.0.1:6443", "--kubeconfig", "{file}"],
     "use either --kubeconfig or --server"),
])
def test_contradictory_or_malformed_join_options_are_refused(
        args: list[str], complaint: str, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    argv = [a.replace("{file}", str(token_file)) for a in args]
    result = CliRunner().invoke(agent, ["--node-name", "n", "--data-dir", str(tmp_path / "d"),
                                        *argv])
    assert result.exit_code == 2, result.output
    assert complaint in result.output
    assert not (tmp_path / "d").exists()
