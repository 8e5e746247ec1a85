"""Pull images from OCI / Docker registries over the distribution v2 API.

``pull`` resolves the reference to a manifest (sending every OCI and Docker manifest and
index type in ``Accept``), picks the host platform's entry from an index, fetches the
config and layers it lacks — each checked against its digest and size while streaming
into the :class:`~.store.ImageStore` — records the image and unpacks its rootfs.

Registries on ``localhost``, ``127.0.0.0/8`` and ``::1`` (and any named ``insecure``) are
spoken to over plain HTTP, every other one over HTTPS; ``docker.io`` means
``registry-1.docker.io``. Credentials are tried most specific first, as the kubelet does;
without any the pull is anonymous. Every failure becomes one :class:`PullError` whose text
is what ``ErrImagePull`` shows: ``failed to pull image "x": manifest unknown``.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from steersman.kubelet.images.auth import Authorizer, Unauthorized, parse_challenges
from steersman.kubelet.images.blobs import split_digest
from steersman.kubelet.images.credentials import Credential, matching
from steersman.kubelet.images.errors import DigestMismatch, ImageError, PullError
from steersman.kubelet.images.manifests import (
    ACCEPT,
    MAX_MANIFEST_BYTES,
    Descriptor,
    Index,
    Manifest,
    Platform,
    host_platform,
    parse_manifest,
    select_platform,
)
from steersman.kubelet.images.reference import DOCKER_HUB, Reference, parse_reference
from steersman.kubelet.images.store import ImageRecord, ImageStore

_PARALLEL_BLOBS = 3


class _RegistryFailure(Exception):
    """A registry answer turned into the text after ``failed to pull image "x": ``."""


@dataclass(frozen=True, slots=True)
class _Fetched:
    digest: str
    manifest: Manifest
    manifest_digest: str


class RegistryClient:
    """Pulls images into one store; one instance per node agent (it owns an HTTP session)."""

    def __init__(self, store: ImageStore, *, platform: Platform | None = None,
                 insecure: frozenset[str] = frozenset(), timeout: float = 30.0) -> None:
        self.store = store
        self._platform = platform or host_platform()
        self._insecure = insecure
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout,
                                              sock_read=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def pull(self, image: str, *,
                   credentials: Sequence[Credential] = ()) -> ImageRecord:
        """Pull ``image`` (with the first matching credential that works) and return it."""
        ref = parse_reference(image)
        candidates: list[Credential | None] = [*matching(credentials, ref)] or [None]
        for position, credential in enumerate(candidates):
            try:
                return await self._pull_as(ref, credential)
            except Unauthorized as exc:
                if position == len(candidates) - 1:
                    raise PullError(image, str(exc), unauthorized=True) from exc
            except (_RegistryFailure, ImageError) as exc:
                raise PullError(image, str(exc)) from exc
        raise AssertionError("unreachable: at least one candidate")

    async def _pull_as(self, ref: Reference, credential: Credential | None) -> ImageRecord:
        repository = _Repository(self._http(), ref, credential=credential,
                                 base=self._base_url(ref.domain))
        try:
            fetched = await self._resolve(repository, ref)
            layers = [fetched.manifest.config, *fetched.manifest.layers]
            await _gather_limited([self._blob(repository, layer) for layer in layers])
        except aiohttp.ClientConnectorError as exc:
            raise _RegistryFailure(f"cannot reach registry {ref.domain}: "
                                   f"{exc.os_error.strerror or exc}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _RegistryFailure(f"registry {ref.domain}: {exc or type(exc).__name__}") from exc
        record = self.store.add(str(ref), digest=fetched.digest, manifest=fetched.manifest,
                                 manifest_digest=fetched.manifest_digest)
        await asyncio.to_thread(self.store.rootfs, record)
        return record

    async def _resolve(self, repository: _Repository, ref: Reference) -> _Fetched:
        body, digest, content_type = await repository.manifest(ref.target)
        self.store.blobs.put(body, digest=digest)
        parsed = parse_manifest(body, content_type)
        if isinstance(parsed, Manifest):
            return _Fetched(digest, parsed, digest)
        entry = select_platform(parsed, self._platform)
        child, child_digest, child_type = await repository.manifest(entry.digest)
        self.store.blobs.put(child, digest=child_digest)
        manifest = parse_manifest(child, child_type)
        if isinstance(manifest, Index):
            raise _RegistryFailure(f"nested index {entry.digest} is not supported")
        return _Fetched(digest, manifest, child_digest)

    async def _blob(self, repository: _Repository, descriptor: Descriptor) -> None:
        if self.store.blobs.has(descriptor.digest):
            return
        with self.store.ingest():
            await repository.blob(self.store, descriptor)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    def _base_url(self, domain: str) -> str:
        if domain == DOCKER_HUB:
            return "https://registry-1.docker.io"
        scheme = "http" if domain in self._insecure or _is_local(domain) else "https"
        return f"{scheme}://{domain}"


class _Repository:
    """One repository on one registry, spoken to with one credential."""

    def __init__(self, session: aiohttp.ClientSession, ref: Reference, *,
                 credential: Credential | None, base: str) -> None:
        self._session = session
        self._url = f"{base}/v2/{ref.path}"
        self._auth = Authorizer(session, credential=credential,
                                scope=f"repository:{ref.path}:pull")

    async def manifest(self, target: str) -> tuple[bytes, str, str]:
        """(body, verified digest, Content-Type) of the manifest at ``target``."""
        async with self._get(f"/manifests/{target}", accept=ACCEPT) as reply:
            await _check(reply, what="manifest")
            body = await _read_limited(reply, MAX_MANIFEST_BYTES)
            announced = reply.headers.get("Docker-Content-Digest", "")
            content_type = reply.headers.get("Content-Type", "")
        expected = target if target.startswith(("sha256:", "sha512:")) else announced or None
        return body, _verify(body, expected), content_type

    async def blob(self, store: ImageStore, descriptor: Descriptor) -> None:
        """Stream the blob into ``store``, verified against ``descriptor``."""
        async with self._get(f"/blobs/{descriptor.digest}") as reply:
            await _check(reply, what=f"blob {descriptor.digest}")
            writer = store.blobs.writer(digest=descriptor.digest, size=descriptor.size)
            with writer:
                async for chunk in reply.content.iter_chunked(1 << 20):
                    writer.write(chunk)
                await asyncio.to_thread(writer.commit)

    def _get(self, path: str, *, accept: str | None = None) -> _AuthorizedGet:
        return _AuthorizedGet(self, self._url + path, accept)

    async def _send(self, url: str, accept: str | None) -> aiohttp.ClientResponse:
        for attempt in range(2):
            headers = {"Accept": accept} if accept else {}
            if self._auth.header:
                headers["Authorization"] = self._auth.header
            reply = await self._session.get(url, headers=headers)
            if reply.status != 401 or attempt:
                return reply
            challenges = parse_challenges(", ".join(reply.headers.getall("WWW-Authenticate",
                                                                         [])))
            reply.release()
            await self._auth.answer(challenges)
        raise AssertionError("unreachable: the loop returns on its second attempt")


class _AuthorizedGet:
    """``async with`` over one GET that answers one authentication challenge."""

    def __init__(self, repository: _Repository, url: str, accept: str | None) -> None:
        self._repository, self._url, self._accept = repository, url, accept
        self._reply: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> aiohttp.ClientResponse:
        self._reply = await self._repository._send(self._url, self._accept)
        return self._reply

    async def __aexit__(self, *exc: object) -> None:
        if self._reply is not None:
            self._reply.release()


async def _check(reply: aiohttp.ClientResponse, *, what: str) -> None:
    if reply.status == 200:
        return
    text = await reply.text(errors="replace")
    message = _registry_errors(text)
    if reply.status in (401, 403):
        raise Unauthorized(message or "unauthorized: authentication required")
    if reply.status == 404:
        raise _RegistryFailure(message or f"{what} not found")
    raise _RegistryFailure(message or f"{what}: unexpected HTTP {reply.status}")


async def _read_limited(reply: aiohttp.ClientResponse, limit: int) -> bytes:
    if (reply.content_length or 0) > limit:
        raise _RegistryFailure(f"manifest larger than {limit} bytes")
    body = bytearray()
    async for chunk in reply.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > limit:
            raise _RegistryFailure(f"manifest larger than {limit} bytes")
    return bytes(body)


def _registry_errors(text: str) -> str:
    """``{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`` →
    ``manifest unknown``; a message that does not repeat its code gets it in front."""
    try:
        errors: Any = json.loads(text).get("errors") or []
    except (ValueError, AttributeError):
        return ""
    rendered = []
    for error in errors if isinstance(errors, list) else []:
        code = str(error.get("code", "")).replace("_", " ").lower()
        message = str(error.get("message", "")).strip()
        rendered.append(message if not code or message.lower() == code
                        else f"{code}: {message}" if message else code)
    return "; ".join(rendered)


def _verify(body: bytes, expected: str | None) -> str:
    algorithm = split_digest(expected)[0] if expected else "sha256"
    digest = f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"
    if expected and digest != expected:
        raise DigestMismatch(f"manifest digest mismatch: expected {expected}, got {digest}")
    return digest


def _is_local(domain: str) -> bool:
    host = domain[1:domain.find("]")] if domain.startswith("[") else domain.partition(":")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _gather_limited(jobs: list[Coroutine[Any, Any, None]]) -> None:
    semaphore = asyncio.Semaphore(_PARALLEL_BLOBS)

    async def limited(job: Coroutine[Any, Any, None]) -> None:
        async with semaphore:
            await job

    await asyncio.gather(*(limited(job) for job in jobs))
