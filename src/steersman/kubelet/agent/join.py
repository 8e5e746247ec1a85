"""Joining a cluster with a token, and keeping the node's client certificate fresh.

The kubelet's TLS bootstrap with k3s's CA pinning, in order:

1. Reuse: credentials already under the data dir (:mod:`.node_credentials`) that are ours,
   signed by the stored CA and unexpired are used as they are — no token needed, so a
   restart works after the token expired or was revoked.
2. Trust: ``GET /cacerts`` *without* verifying TLS (nothing is trusted yet), then compare
   the SHA-256 of what came back with the hash in the ``K10…`` token. A mismatch is a
   :class:`JoinError` naming both hashes, and nothing is written.
3. Client certificate: with the CA pinned, create a CertificateSigningRequest for
   ``system:node:<name>`` (signer ``kubernetes.io/kube-apiserver-client-kubelet``) as
   ``Authorization: Bearer <id>.<secret>``, wait for the controller manager to approve and
   sign it, write key, certificate, CA and kubeconfig (0600).
4. Serving certificate: as the node itself, a CSR to ``kubernetes.io/kubelet-serving`` for
   the node's address and name, for the streaming server the API server dials.

:class:`ClientCertificateRotation` then renews the client certificate at 80% of its life
with a CSR signed by the current one, and loads the new pair into the live TLS context.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from steersman.api.bootstraptoken import JoinToken, ca_sha256
from steersman.api.errors import StatusError
from steersman.client import Client, ClientConfig, Clock, Resource, ServerUnreachable
from steersman.kubelet.agent import node_credentials as nc

log = logging.getLogger(__name__)
CSRS = Resource("certificates.k8s.io", "v1", "certificatesigningrequests", namespaced=False,
                kind="CertificateSigningRequest")
CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING_SIGNER = "kubernetes.io/kubelet-serving"
CLIENT_USAGES = ("digital signature", "client auth")
SERVING_USAGES = ("digital signature", "server auth")
WAIT_SECONDS = 60.0
_POLL_SECONDS = 0.25


class JoinError(Exception):
    """Joining failed for a reason the operator can act on; the message says which."""


@dataclass(frozen=True)
class JoinRequest:
    """Who joins where: the server URL, the token (None: reuse only), name and addresses."""

    server: str
    token: JoinToken | None
    node_name: str
    hosts: Sequence[str]


async def fetch_ca(server: str) -> bytes:
    """The CA the server publishes at ``/cacerts``, fetched before anything is trusted."""
    try:
        async with aiohttp.ClientSession() as session, session.get(
                f"{server}/cacerts", ssl=False, timeout=aiohttp.ClientTimeout(total=15)
        ) as response:
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError, OSError) as err:
        raise JoinError(f"cannot reach {server}/cacerts: {err or type(err).__name__}") from err
    if response.status != 200 or b"-----BEGIN CERTIFICATE-----" not in body:
        raise JoinError(f"{server}/cacerts answered HTTP {response.status} without a CA "
                        "certificate: is this a steersman server?")
    return body


def check_pin(ca_pem: bytes, token: JoinToken, server: str) -> None:
    """Refuse a CA whose hash is not the one the token pins."""
    actual = ca_sha256(ca_pem)
    if actual != token.ca_hash:
        raise JoinError(
            f"the CA certificate served by {server} has sha256 {actual}, but the join token "
            f"pins sha256 {token.ca_hash}: the token is for another cluster, or something "
            "between you and the server is not the server; nothing was written")


def _pinned_context(ca_pem: bytes) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca_pem.decode("ascii"))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _csr_object(node_name: str, request_pem: bytes, *, signer: str,
                usages: Sequence[str]) -> dict[str, Any]:
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"generateName": f"node-csr-{node_name}-"},
            "spec": {"request": base64.b64encode(request_pem).decode(), "signerName": signer,
                     "usages": list(usages)}}


async def request_certificate(client: Client, node_name: str, *, signer: str,
                              usages: Sequence[str], hosts: Sequence[str] = (),
                              wait_seconds: float = WAIT_SECONDS) -> tuple[bytes, bytes]:
    """Create a CSR, wait until it is issued: ``(certificate PEM, key PEM)``."""
    key_pem, request_pem = nc.new_key_and_request(node_name, hosts=hosts)
    created = await client.create(CSRS, _csr_object(node_name, request_pem, signer=signer,
                                                    usages=usages))
    name = created["metadata"]["name"]
    deadline = client.clock.now() + wait_seconds
    while True:
        current = await client.get(CSRS, name)
        certificate = _issued(current, name)
        if certificate:
            return certificate, key_pem
        if client.clock.now() >= deadline:
            raise JoinError(f"certificate signing request {name} was not issued within "
                            f"{wait_seconds:.0f}s: approve it with `kubectl certificate "
                            f"approve {name}`, and check that the controller manager runs")
        await client.clock.sleep(_POLL_SECONDS)


def _issued(csr: dict[str, Any], name: str) -> bytes:
    status = csr.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") in ("Denied", "Failed"):
            raise JoinError(f"certificate signing request {name} was "
                            f"{condition['type'].lower()}: {condition.get('message', '')}")
    return base64.b64decode(status["certificate"]) if status.get("certificate") else b""


def _refused(err: StatusError, server: str) -> JoinError:
    if err.code == 401:
        return JoinError(f"{server} refused the join token (401 Unauthorized): its id or "
                         "secret is wrong, or it expired or was revoked; take the current "
                         "token from the server's node-token file")
    return JoinError(f"{server} refused the certificate request: {err}")


class Joiner:
    """Makes sure a node's credentials exist, joining with the token when they do not."""

    def __init__(self, request: JoinRequest, credentials: nc.NodeCredentials, *,
                 clock: Clock) -> None:
        self._request = request
        self._credentials = credentials
        self._clock = clock

    async def ensure(self) -> bool:
        """Reuse or create the credentials; True when this call joined."""
        joined = False
        if not self._reusable():
            await self._join()
            joined = True
        if not self._serving_usable():
            await self._request_serving()
        return joined

    def _reusable(self) -> bool:
        creds, request = self._credentials, self._request
        try:
            ca_pem = creds.ca_cert.read_bytes()
        except FileNotFoundError:
            return False
        if request.token is not None and ca_sha256(ca_pem) != request.token.ca_hash:
            return False
        if request.server and nc.stored_server(creds) != request.server:
            return False
        cert = nc.usable_certificate(creds.client_cert, creds.client_key,
                                     common_name=nc.node_user(request.node_name),
                                     now=self._clock.now(), ca_pem=ca_pem)
        return cert is not None and creds.kubeconfig.exists()

    def _serving_usable(self) -> bool:
        creds = self._credentials
        cert = nc.usable_certificate(creds.serving_cert, creds.serving_key,
                                     common_name=nc.node_user(self._request.node_name),
                                     now=self._clock.now(), ca_pem=creds.ca_cert.read_bytes())
        return (cert is not None and nc.renew_at(cert) > self._clock.now()
                and nc.names_all(cert, self._request.hosts))

    async def _join(self) -> None:
        request = self._request
        if request.token is None:
            raise JoinError(f"no usable credentials in {self._credentials.data_dir} for node "
                            f"{request.node_name} on {request.server or 'this cluster'}: "
                            "join with --server and --token (or --token-file)")
        ca_pem = await fetch_ca(request.server)
        check_pin(ca_pem, request.token, request.server)
        config = ClientConfig(server=request.server, ssl_context=_pinned_context(ca_pem),
                              headers={"Authorization": f"Bearer {request.token.bootstrap}"})
        cert, key = await self._exchange(config, signer=CLIENT_SIGNER, usages=CLIENT_USAGES)
        creds = self._credentials
        nc.write_private(creds.ca_cert, ca_pem)
        nc.write_private(creds.client_key, key)
        nc.write_private(creds.client_cert, cert)
        nc.write_kubeconfig(creds, server=request.server, node_name=request.node_name)

    async def _request_serving(self) -> None:
        config = ClientConfig(server=nc.stored_server(self._credentials),
                              ssl_context=nc.client_ssl_context(self._credentials))
        cert, key = await self._exchange(config, signer=SERVING_SIGNER, usages=SERVING_USAGES,
                                         hosts=self._request.hosts)
        nc.write_private(self._credentials.serving_key, key)
        nc.write_private(self._credentials.serving_cert, cert)

    async def _exchange(self, config: ClientConfig, *, signer: str, usages: Sequence[str],
                        hosts: Sequence[str] = ()) -> tuple[bytes, bytes]:
        user_agent = f"steersman-agent/{self._request.node_name} (join)"
        try:
            async with Client(config, clock=self._clock, user_agent=user_agent) as client:
                return await request_certificate(client, self._request.node_name,
                                                 signer=signer, usages=usages, hosts=hosts)
        except StatusError as err:
            raise _refused(err, config.server) from err
        except ServerUnreachable as err:
            raise JoinError(f"cannot reach {config.server}: {err}") from err


class ClientCertificateRotation:
    """Renews the node's client certificate at 80% of its lifetime, for as long as it runs."""

    def __init__(self, credentials: nc.NodeCredentials, node_name: str,
                 context: ssl.SSLContext, *, clock: Clock, retry_seconds: float = 30.0) -> None:
        self._credentials = credentials
        self._node_name = node_name
        self._context = context
        self._clock = clock
        self._retry_seconds = retry_seconds

    def due_in(self) -> float:
        """Seconds until the current client certificate should be replaced (≤ 0: now)."""
        cert = nc.load_certificate(self._credentials.client_cert)
        return 0.0 if cert is None else nc.renew_at(cert) - self._clock.now()

    async def run(self) -> None:
        while True:
            await self._clock.sleep(max(self.due_in(), 0.0))
            try:
                await self.renew()
            except (JoinError, StatusError, ServerUnreachable, OSError) as err:
                log.warning("renewing the client certificate of %s failed (retrying in "
                            "%.0fs): %s", self._node_name, self._retry_seconds, err)
                await self._clock.sleep(self._retry_seconds)

    async def renew(self) -> None:
        """One renewal: a CSR signed for by the current certificate, then the swap."""
        creds = self._credentials
        config = ClientConfig(server=nc.stored_server(creds), ssl_context=self._context)
        async with Client(config, clock=self._clock,
                          user_agent=f"steersman-agent/{self._node_name} (renew)") as client:
            cert, key = await request_certificate(client, self._node_name,
                                                  signer=CLIENT_SIGNER, usages=CLIENT_USAGES)
        nc.write_private(creds.client_key, key)
        nc.write_private(creds.client_cert, cert)
        self._context.load_cert_chain(creds.client_cert, creds.client_key)
        log.info("renewed the client certificate of node %s", self._node_name)


@dataclass(frozen=True)
class Joined:
    """A node's way into the cluster: its client configuration and what keeps it valid."""

    client_config: ClientConfig
    credentials: nc.NodeCredentials
    rotation: ClientCertificateRotation
    joined: bool


async def join_cluster(request: JoinRequest, data_dir: Path, *, clock: Clock) -> Joined:
    """Reuse or obtain the node's credentials under ``data_dir``; see the module contract."""
    credentials = nc.NodeCredentials(data_dir)
    joined = await Joiner(request, credentials, clock=clock).ensure()
    context = nc.client_ssl_context(credentials)
    return Joined(ClientConfig(server=nc.stored_server(credentials), ssl_context=context),
                  credentials, ClientCertificateRotation(credentials, request.node_name,
                                                         context, clock=clock), joined)


async def rotate_while(work: Awaitable[None], rotation: ClientCertificateRotation) -> None:
    """Await ``work`` (the agent) with ``rotation`` running beside it; stop both together."""
    renewing = asyncio.create_task(rotation.run(), name="client-certificate-rotation")
    try:
        await work
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
