"""``steersman agent --server URL --token-file F`` joins a real ``steersman server``.

The agent is a separate process (process runtime) that has nothing but the server's URL and
its ``node-token``: it pins the CA by the token's hash, gets its client and serving
certificates through CertificateSigningRequests that the controller manager approves and
signs, registers a Ready node and runs a pod whose logs the API server fetches over the
joined serving certificate. Bad tokens fail with clear messages and write nothing; a
restart reuses the credentials even after the token is revoked. Operators mint tokens and
approve requests with plain kubectl.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client as k8s
from kubernetes import config

from tests.e2e.harness import ServerProcess, start_server
from tests.e2e.test_agent_process import eventually, remove_containers

NODE = "joined-node"
POD_CIDR = "127.42.203.0/24"
Object = dict[str, Any]


@dataclass
class Agent:
    process: subprocess.Popen[bytes]
    log_path: Path
    data_dir: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def agent_command(server: ServerProcess, data_dir: Path, *join: str,
                  node: str = NODE) -> list[str]:
    return [sys.executable, "-m", "steersman", "agent", "--server", server.url, *join,
            "--node-name", node, "--runtime", "process", "--data-dir", str(data_dir),
            "--pod-cidr", POD_CIDR, "--port", "0"]


def start_agent(server: ServerProcess, data_dir: Path, *join: str) -> Agent:
    log_path = data_dir.parent / f"agent-{uuid.uuid4().hex[:6]}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(agent_command(server, data_dir, *join), stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    agent = Agent(process, log_path, data_dir)
    eventually(lambda: "registered" in agent.log() or process.poll() is not None, 60)
    assert process.poll() is None, agent.log()
    return agent


def run_agent(server: ServerProcess, data_dir: Path, *join: str
              ) -> subprocess.CompletedProcess[str]:
    """An agent that is expected to give up at once."""
    return subprocess.run(agent_command(server, data_dir, *join, node="refused-node"),
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One SQLite-backed server: joining does not depend on the store."""
    process = start_server(tmp_path_factory.mktemp("server"))
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def token_file(server: ServerProcess) -> Path:
    return server.data_dir / "node-token"


@pytest.fixture(scope="module")
def agent(server: ServerProcess, token_file: Path,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    data_dir = tmp_path_factory.mktemp("agent") / "data"
    running = start_agent(server, data_dir, "--token-file", str(token_file))
    try:
        yield running
    finally:
        running.stop()
        server.kubectl("delete", "pods", "--all", "--all-namespaces", "--wait=false",
                       check=False)
        asyncio.run(remove_containers(data_dir / "runtime"))


def kubectl_json(server: ServerProcess, *args: str) -> Object:
    return json.loads(server.kubectl(*args, "-o", "json").stdout)  # type: ignore[no-any-return]


def node_ready(server: ServerProcess) -> bool:
    node = kubectl_json(server, "get", "node", NODE)
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in node["status"].get("conditions", []))


def as_token(server: ServerProcess, token: str, *args: str, check: bool = True,
             input: str | None = None) -> subprocess.CompletedProcess[str]:
    """kubectl with nothing but a bearer token (and the CA to verify the server)."""
    return server.kubectl("--kubeconfig", "/dev/null", "--server", server.url,
                          "--certificate-authority", str(server.data_dir / "pki" / "ca.crt"),
                          "--token", token, *args, check=check, input=input)


def csr_manifest(name: str, signer: str, usages: list[str]) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, name)])).sign(key, hashes.SHA256())
    pem = request.public_bytes(serialization.Encoding.PEM)
    return json.dumps({"apiVersion": "certificates.k8s.io/v1",
                       "kind": "CertificateSigningRequest", "metadata": {"name": name},
                       "spec": {"request": base64.b64encode(pem).decode(),
                                "signerName": signer, "usages": usages}})


def test_the_server_writes_a_private_join_token_and_says_how_to_join(
        server: ServerProcess, token_file: Path) -> None:
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert token.startswith("K10") and "::" in token
    assert f"--token-file {token_file}" in server.log_tail()
    token_id = token.split("::")[1].split(".")[0]
    secret = kubectl_json(server, "get", "secret", "-n", "kube-system",
                          f"bootstrap-token-{token_id}")
    assert secret["type"] == "bootstrap.kubernetes.io/token"


def test_a_joined_agent_registers_a_ready_node_that_runs_pods(
        server: ServerProcess, agent: Agent) -> None:
    eventually(lambda: node_ready(server), 30)
    for name in ("kubelet.kubeconfig", "pki/ca.crt", "pki/kubelet-client.key",
                 "pki/kubelet-client.crt", "pki/kubelet-serving.key", "pki/kubelet-serving.crt"):
        assert stat.S_IMODE((agent.data_dir / name).stat().st_mode) == 0o600, name
    server.kubectl("run", "joined", "--image=busybox", "--restart=Never", "--command", "--",
                   "sh", "-c", "echo hello from the joined node; sleep 3600")
    eventually(lambda: kubectl_json(server, "get", "pod", "joined")["status"].get(
        "phase") == "Running", 40)
    # The API server reaches the node's streaming server over the certificate from the join.
    eventually(lambda: "hello from the joined node" in server.kubectl(
        "logs", "joined", check=False).stdout, 20)


def test_kubectl_get_csr_shows_the_issued_requests(server: ServerProcess, agent: Agent) -> None:
    table = server.kubectl("get", "csr").stdout
    client = [line for line in table.splitlines()
              if "kube-apiserver-client-kubelet" in line and "system:bootstrap:" in line]
    serving = [line for line in table.splitlines()
               if "kubernetes.io/kubelet-serving" in line and f"system:node:{NODE}" in line]
    assert client and serving, table
    assert all("Approved,Issued" in line for line in client + serving), table
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig))
    try:
        requests = k8s.CertificatesV1Api(api_client).list_certificate_signing_request().items
    finally:
        api_client.close()
    mine = [r for r in requests if r.spec.username == f"system:node:{NODE}"]
    assert [r.spec.signer_name for r in mine] == ["kubernetes.io/kubelet-serving"]
    assert mine[0].status.certificate and mine[0].status.conditions[0].type == "Approved"


def test_a_token_pinning_another_ca_is_refused_and_nothing_is_written(
        server: ServerProcess, token_file: Path, tmp_path: Path) -> None:
    wrong_hash = "0" * 64
    credential = token_file.read_text().strip().split("::")[1]
    data_dir = tmp_path / "refused"
    result = run_agent(server, data_dir, "--token", f"K10{wrong_hash}::{credential}")
    assert result.returncode != 0
    real_hash = token_file.read_text().strip()[3:67]
    assert wrong_hash in result.stderr and real_hash in result.stderr, result.stderr
    assert not data_dir.exists()


def test_a_wrong_secret_gets_a_clear_401(server: ServerProcess, token_file: Path,
                                          tmp_path: Path) -> None:
    pinned, credential = token_file.read_text().strip().split("::")
    token_id = credential.split(".")[0]
    result = run_agent(server, tmp_path / "refused", "--token",
                       f"{pinned}::{token_id}.{'0' * 16}")
    assert result.returncode != 0
    assert "refused the join token (401 Unauthorized)" in result.stderr, result.stderr
    assert not (tmp_path / "refused").exists()


def test_operators_mint_tokens_with_kubectl_and_they_only_reach_csrs(
        server: ServerProcess) -> None:
    token_id, secret = uuid.uuid4().hex[:6], uuid.uuid4().hex[:16]
    server.kubectl("create", "secret", "generic", f"bootstrap-token-{token_id}", "-n",
                   "kube-system", "--type", "bootstrap.kubernetes.io/token",
                   f"--from-literal=token-id={token_id}",
                   f"--from-literal=token-secret={secret}",
                   "--from-literal=usage-bootstrap-authentication=true")
    token = f"{token_id}.{secret}"
    denied = as_token(server, token, "get", "pods", check=False)
    assert denied.returncode != 0 and "Forbidden" in denied.stderr, denied.stderr
    name = f"minted-{token_id}"
    as_token(server, token, "create", "-f", "-",
             input=csr_manifest(name, "example.com/custom", ["client auth"]))
    requestor = kubectl_json(server, "get", "csr", name)["spec"]["username"]
    assert requestor == f"system:bootstrap:{token_id}"
    server.kubectl("delete", "secret", "-n", "kube-system", f"bootstrap-token-{token_id}")
    gone = as_token(server, token, "get", "csr", check=False)
    assert gone.returncode != 0 and "Unauthorized" in gone.stderr, gone.stderr


def test_kubectl_certificate_approve_and_deny(server: ServerProcess) -> None:
    suffix = uuid.uuid4().hex[:6]
    for name in (f"approve-{suffix}", f"deny-{suffix}"):
        server.kubectl("create", "-f", "-",
                       input=csr_manifest(name, "example.com/custom", ["client auth"]))
        assert "Pending" in server.kubectl("get", "csr", name).stdout
    server.kubectl("certificate", "approve", f"approve-{suffix}")
    server.kubectl("certificate", "deny", f"deny-{suffix}")
    assert "Approved" in server.kubectl("get", "csr", f"approve-{suffix}").stdout
    assert "Denied" in server.kubectl("get", "csr", f"deny-{suffix}").stdout
    conditions = kubectl_json(server, "get", "csr", f"approve-{suffix}")["status"]["conditions"]
    assert [c["type"] for c in conditions] == ["Approved"]


def test_a_restarted_agent_reuses_its_credentials_after_the_token_is_revoked(
        server: ServerProcess, agent: Agent, token_file: Path) -> None:
    eventually(lambda: node_ready(server), 30)
    requests_before = len(kubectl_json(server, "get", "csr")["items"])
    token_id = token_file.read_text().strip().split("::")[1].split(".")[0]
    server.kubectl("delete", "secret", "-n", "kube-system", f"bootstrap-token-{token_id}")
    agent.stop()
    restarted = start_agent(server, agent.data_dir, "--token-file", str(token_file))
    agent.process = restarted.process
    assert "reusing the credentials" in restarted.log(), restarted.log()
    assert len(kubectl_json(server, "get", "csr")["items"]) == requests_before
    eventually(lambda: node_ready(server), 30)
