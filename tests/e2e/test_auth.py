"""Service-account tokens, reviews and OIDC discovery with the real kubectl and Python client."""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from tests.e2e.harness import ServerProcess

ISSUER = "https://kubernetes.default.svc.cluster.local"
UNAUTHORIZED = "error: You must be logged in to the server (Unauthorized)"


def kubeconfig_for(server: ServerProcess, path: Path, user: dict[str, Any],
                   namespace: str = "default") -> Path:
    """A kubeconfig trusting the cluster CA, with ``user`` as its credentials."""
    admin = yaml.safe_load(server.kubeconfig.read_text())
    cluster = admin["clusters"][0]["cluster"]
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u",
                                               "namespace": namespace}}],
    }))
    return path


def segment(token: str, index: int) -> dict[str, Any]:
    """The decoded JSON of a JWT's header (0) or claims (1)."""
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def claims(token: str) -> dict[str, Any]:
    return segment(token, 1)


def as_user(server: ServerProcess, kubeconfig: Path, *args: str,
            check: bool = True) -> tuple[int, str]:
    result = server.kubectl("--kubeconfig", str(kubeconfig), *args, check=check)
    return result.returncode, (result.stdout + result.stderr).strip()


def wait_until_unauthorized(server: ServerProcess, kubeconfig: Path) -> str:
    """The watch cache learns of a deletion a moment after it is stored: poll briefly."""
    deadline = time.monotonic() + 10
    while True:
        code, output = as_user(server, kubeconfig, "get", "pods", check=False)
        if code != 0 or time.monotonic() > deadline:
            return output
        time.sleep(0.1)


def test_service_account_token_lifecycle(server: ServerProcess, namespace: str,
                                         tmp_path: Path) -> None:
    server.kubectl("create", "serviceaccount", "robot", "-n", namespace)
    token = server.kubectl("create", "token", "robot", "-n", namespace).stdout.strip()
    said = claims(token)
    assert said["sub"] == f"system:serviceaccount:{namespace}:robot"
    assert said["aud"] == [ISSUER] and said["exp"] - said["iat"] == 3600
    assert said["kubernetes.io"]["namespace"] == namespace

    robot = kubeconfig_for(server, tmp_path / "robot", {"token": token}, namespace)
    assert "No resources found" in as_user(server, robot, "get", "pods")[1]
    whoami = as_user(server, robot, "auth", "whoami")[1]
    assert f"system:serviceaccount:{namespace}:robot" in whoami
    assert f"system:serviceaccounts:{namespace}" in whoami
    assert as_user(server, robot, "auth", "can-i", "create", "pods")[1] == "yes"

    server.kubectl("delete", "serviceaccount", "robot", "-n", namespace)
    assert wait_until_unauthorized(server, robot) == UNAUTHORIZED


def test_bad_or_missing_credentials_are_unauthorized(server: ServerProcess,
                                                     tmp_path: Path) -> None:
    garbage = kubeconfig_for(server, tmp_path / "garbage", {"token": "garbage"})
    assert as_user(server, garbage, "get", "pods", check=False) == (1, UNAUTHORIZED)
    forged = kubeconfig_for(server, tmp_path / "forged", {"token": "eyJhbGciOiJub25lIn0.e30."})
    assert as_user(server, forged, "get", "pods", check=False) == (1, UNAUTHORIZED)
    # A kubeconfig with only the CA makes kubectl prompt for a user name and password, so
    # kubectl is given a password it sends as Basic auth, which the server does not accept;
    # the truly credential-less request is made directly.
    basic = kubeconfig_for(server, tmp_path / "basic", {"username": "u", "password": "p"})
    assert as_user(server, basic, "get", "pods", check=False) == (1, UNAUTHORIZED)
    status = _get(server, "/api/v1/namespaces")
    assert (status["code"], status["reason"]) == (401, "Unauthorized")


def test_create_token_options(server: ServerProcess, namespace: str) -> None:
    missing = server.kubectl("create", "token", "nobody", "-n", namespace, check=False)
    assert 'serviceaccounts "nobody" not found' in missing.stderr
    server.kubectl("create", "serviceaccount", "robot", "-n", namespace)
    short = server.kubectl("create", "token", "robot", "-n", namespace, "--duration=5m",
                           check=False)
    assert "may not specify a duration less than 10 minutes" in short.stderr
    token = server.kubectl("create", "token", "robot", "-n", namespace, "--duration=2h",
                           "--audience=vault").stdout.strip()
    assert claims(token)["aud"] == ["vault"]
    assert claims(token)["exp"] - claims(token)["iat"] == 7200


def test_pod_bound_token(server: ServerProcess, namespace: str, tmp_path: Path) -> None:
    server.kubectl("create", "serviceaccount", "robot", "-n", namespace)
    server.kubectl("run", "p", "--image=busybox", "-n", namespace, "--overrides",
                   '{"spec": {"serviceAccountName": "robot"}}')
    token = server.kubectl("create", "token", "robot", "-n", namespace,
                           "--bound-object-kind=Pod", "--bound-object-name=p").stdout.strip()
    assert claims(token)["kubernetes.io"]["pod"]["name"] == "p"
    bound = kubeconfig_for(server, tmp_path / "bound", {"token": token}, namespace)
    assert "pod-name" in as_user(server, bound, "auth", "whoami")[1]
    server.kubectl("delete", "pod", "p", "-n", namespace, "--grace-period=0", "--force")
    assert wait_until_unauthorized(server, bound) == UNAUTHORIZED


def test_pods_default_to_the_default_service_account(server: ServerProcess,
                                                     namespace: str) -> None:
    server.kubectl("run", "p", "--image=busybox", "-n", namespace)
    account = server.kubectl("get", "pod", "p", "-n", namespace, "-o",
                             "jsonpath={.spec.serviceAccountName}/{.spec.serviceAccount}")
    assert account.stdout == "default/default"


LOCAL_REVIEW = """\
apiVersion: authorization.k8s.io/v1
kind: LocalSubjectAccessReview
metadata: {{namespace: {ns}}}
spec:
  user: {user}
  resourceAttributes: {{namespace: {ns}, verb: delete, resource: secrets}}
"""


def test_reviews_are_create_only(server: ServerProcess, namespace: str) -> None:
    listed = server.kubectl("get", "selfsubjectaccessreviews", check=False)
    assert "MethodNotAllowed" in listed.stderr
    named = server.kubectl("get", "--raw",
                           "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x", check=False)
    assert "NotFound" in named.stderr
    for user, allowed in (("alice", True), ("system:anonymous", False)):
        review = server.kubectl("create", "-o", "json", "-f", "-",
                                input=LOCAL_REVIEW.format(ns=namespace, user=user))
        assert json.loads(review.stdout)["status"]["allowed"] is allowed
    rules = server.kubectl("auth", "can-i", "--list")
    assert "*.*" in rules.stdout
    resources = server.kubectl("api-resources", "--api-group=authorization.k8s.io").stdout
    assert "selfsubjectaccessreviews" in resources


def test_oidc_discovery(server: ServerProcess, namespace: str) -> None:
    document = json.loads(server.kubectl("get", "--raw",
                                         "/.well-known/openid-configuration").stdout)
    assert document["issuer"] == ISSUER
    assert document["jwks_uri"].endswith("/openid/v1/jwks")
    jwks = json.loads(server.kubectl("get", "--raw", "/openid/v1/jwks").stdout)
    (key,) = jwks["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    server.kubectl("create", "serviceaccount", "robot", "-n", namespace)
    token = server.kubectl("create", "token", "robot", "-n", namespace).stdout.strip()
    assert segment(token, 0) == {"alg": "ES256", "kid": key["kid"]}


def _get(server: ServerProcess, path: str) -> dict[str, Any]:
    """GET without any credentials, trusting the cluster CA."""
    admin = yaml.safe_load(server.kubeconfig.read_text())
    cluster = admin["clusters"][0]["cluster"]
    context = ssl.create_default_context(
        cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    try:
        with urllib.request.urlopen(cluster["server"] + path, context=context, timeout=10) as r:
            body: dict[str, Any] = json.loads(r.read())
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read())
    return body


# --- the official Python client ------------------------------------------------------------


@pytest.fixture
def api(server: ServerProcess) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig))
    try:
        yield api_client
    finally:
        api_client.close()


def test_python_client_token_request_and_reviews(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="robot")))
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[ISSUER], expiration_seconds=1200))
    answer = core.create_namespaced_service_account_token("robot", namespace, request)
    assert answer.spec.expiration_seconds == 1200
    assert answer.status.expiration_timestamp is not None
    token = answer.status.token

    review = client.AuthenticationV1Api(api).create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token)))
    assert review.status.authenticated
    assert review.status.user.username == f"system:serviceaccount:{namespace}:robot"
    assert review.status.audiences == [ISSUER]
    bad = client.AuthenticationV1Api(api).create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token="garbage")))
    assert not bad.status.authenticated and bad.status.error

    sar = client.AuthorizationV1Api(api).create_subject_access_review(client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=f"system:serviceaccount:{namespace}:robot",
            resource_attributes=client.V1ResourceAttributes(verb="get", resource="pods"))))
    assert sar.status.allowed and "RBAC" in sar.status.reason

    with pytest.raises(ApiException) as missing:
        core.create_namespaced_service_account_token("nobody", namespace, request)
    assert missing.value.status == 404
