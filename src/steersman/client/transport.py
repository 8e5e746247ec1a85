"""HTTP to one API server: one keep-alive session, client-side throttling, retries.

Every request waits for a token of the client's :class:`~steersman.client.ratelimit.TokenBucket`
(QPS/burst, as client-go's ``rest.Config``), then is sent; it is retried with capped
exponential back-off

* when the connection could not be made (nothing was sent, so any verb is safe),
* when it broke or timed out mid-request, for idempotent verbs only (GET, PUT, DELETE),
* on 429 and 5xx answers that carry ``Retry-After`` (client-go's ``checkWait``), waiting
  what the server asked (capped).

When retries run out a connection failure becomes
:class:`~steersman.client.errors.ServerUnreachable`; a non-2xx answer is handed back for
:mod:`.rest` to translate.

With a :class:`~steersman.client.local.LocalServer` (a client inside the server's own
process) requests are handed to it instead of being sent over HTTPS; throttling and the
Retry-After handling are the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from steersman.client.clock import Clock
from steersman.client.config import ClientConfig
from steersman.client.errors import ServerUnreachable
from steersman.client.local import LocalServer, LocalWatch
from steersman.client.ratelimit import TokenBucket

Params = Mapping[str, str]
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10, sock_read=60)
_CONNECTION_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError,
                      asyncio.TimeoutError)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: ``base * 2**attempt`` seconds, capped."""

    max_retries: int = 5
    base_delay: float = 0.2
    max_delay: float = 10.0

    def backoff(self, attempt: int) -> float:
        return min(self.base_delay * 2.0 ** min(attempt, 32), self.max_delay)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: Params
    body: bytes | None = None
    content_type: str = "application/json"
    timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT


class Response(Protocol):
    """What callers read of an answer (an aiohttp response, or a local one)."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    async def read(self) -> bytes: ...

    def close(self) -> None: ...


class Transport:
    """Sends :class:`Request` values to the configured server."""

    def __init__(self, config: ClientConfig, *, clock: Clock, qps: float, burst: int,
                 retry: RetryPolicy, connection_limit: int, user_agent: str,
                 local: LocalServer | None = None) -> None:
        self._config = config
        self.local = local
        self._clock = clock
        self._bucket = TokenBucket(qps=qps, burst=burst, clock=clock)
        self._retry = retry
        self._connection_limit = connection_limit
        self._headers = {"Accept": "application/json", "User-Agent": user_agent,
                         **config.headers}
        self._local_headers = {"User-Agent": user_agent}  # the identity is the endpoint's
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def close(self) -> None:
        """Close the connections; later requests raise ``RuntimeError``."""
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, request: Request, *, stream: bool = False) -> Response:
        """The response to ``request``, after throttling and retries.

        Unless ``stream`` is set the body is read (and the connection released) before
        returning; a streamed response must be released by the caller. Error responses are
        always read.
        """
        attempt = 0
        while True:
            await self._bucket.wait()
            try:
                response = await self._attempt(request, stream)
            except _CONNECTION_ERRORS as err:
                if not self._may_retry(request, err, attempt):
                    raise ServerUnreachable(f"{request.method} {self._config.server}"
                                            f"{request.path}: {err or type(err).__name__}") from err
                await self._clock.sleep(self._retry.backoff(attempt))
            else:
                delay = self._retry_after(response, attempt)
                if delay is None:
                    return response
                await self._clock.sleep(delay)
            attempt += 1

    async def _attempt(self, request: Request, stream: bool) -> Response:
        if self.local is not None:
            if self._closed:
                raise RuntimeError("the client is closed")
            return await self.local.request(request.method, request.path, request.params,
                                            request.body, request.content_type,
                                            self._local_headers)
        headers = {"Content-Type": request.content_type} if request.body is not None else {}
        response = await self._open_session().request(
            request.method, self._config.server + request.path, params=request.params,
            data=request.body, headers=headers, ssl=self._config.ssl_context or True,
            timeout=request.timeout)
        if not stream or response.status >= 400:
            await response.read()  # caches the body and frees the connection
        return response

    def local_watch(self, request: Request) -> LocalWatch | None:
        """The events of a watch ``request`` from the in-process server, if there is one."""
        if self.local is None:
            return None
        if self._closed:
            raise RuntimeError("the client is closed")
        return self.local.watch(request.path, request.params, self._local_headers)

    def _may_retry(self, request: Request, err: BaseException, attempt: int) -> bool:
        if attempt >= self._retry.max_retries or isinstance(err, aiohttp.ClientSSLError):
            return False
        return isinstance(err, aiohttp.ClientConnectorError) or request.method in _IDEMPOTENT

    def _retry_after(self, response: Response, attempt: int) -> float | None:
        if response.status != 429 and response.status < 500:
            return None
        header = response.headers.get("Retry-After", "")
        if attempt >= self._retry.max_retries or not header.isdigit():
            return None
        return min(float(header), self._retry.max_delay)

    def _open_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                connector=aiohttp.TCPConnector(limit=self._connection_limit),
                timeout=DEFAULT_TIMEOUT,
                raise_for_status=False)
        return self._session
