"""A real ``steersman server`` process for end-to-end tests, and the real ``kubectl`` against it.

Each server gets its own data dir, an ephemeral port and its own kubectl cache dir, and is
stopped by PID at teardown.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.tools import need_tool


@dataclass
class ServerProcess:
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    kubectl_path: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "admin.kubeconfig"

    @property
    def url(self) -> str:
        config = yaml.safe_load(self.kubeconfig.read_text())
        return str(config["clusters"][0]["cluster"]["server"])

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 60, env: dict[str, str] | None = None,
                ) -> subprocess.CompletedProcess[str]:
        if not self.kubectl_path:
            self.kubectl_path = need_tool("kubectl", "the end-to-end tests drive the real kubectl")
        full_env = {**os.environ, "KUBECONFIG": str(self.kubeconfig),
                    "KUBECACHEDIR": str(self.data_dir / "kubecache"),
                    "HOME": str(self.data_dir / "home"), **(env or {})}
        result = subprocess.run(
            [self.kubectl_path, "--cache-dir", str(self.data_dir / "kubecache"), *args],
            input=input, capture_output=True, text=True, timeout=timeout, env=full_env)
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}\n"
                f"server log tail:\n{self.log_tail()}")
        return result

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def start_server(data_dir: Path, *extra: str, timeout: float = 30) -> ServerProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    kubeconfig = data_dir / "admin.kubeconfig"
    if kubeconfig.exists():
        kubeconfig.unlink()
    log_path = data_dir / "server.log"
    log_file = open(log_path, "ab")  # noqa: SIM115 - handed to the child process
    process = subprocess.Popen(
        [sys.executable, "-m", "steersman", "server", "--data-dir", str(data_dir),
         "--port", "0", *extra],
        stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    log_file.close()
    server = ServerProcess(data_dir, process, log_path)
    _wait_ready(server, timeout)
    return server


def _wait_ready(server: ServerProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"steersman server exited early:\n{server.log_tail()}")
        if server.kubeconfig.exists() and "ready at" in server.log_tail():
            return
        time.sleep(0.05)
    server.kill()
    raise AssertionError(f"steersman server not ready within {timeout}s:\n{server.log_tail()}")
