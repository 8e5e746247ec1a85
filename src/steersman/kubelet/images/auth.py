"""Registry authentication: ``WWW-Authenticate`` challenges, bearer tokens, basic auth.

The distribution token flow: a request answered ``401`` with ``WWW-Authenticate: Bearer
realm="…",service="…",scope="…"`` is retried with a token fetched from ``realm`` (``GET
?service=…&scope=…``, with the credential as basic auth when there is one). A ``Basic``
challenge is answered with the credential directly. Without a credential, a basic
challenge cannot be answered: ``unauthorized: authentication required``. Neighbour:
:mod:`.registry`, which owns the HTTP session and asks :class:`Authorizer` for headers.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp

from steersman.kubelet.images.credentials import Credential

_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)")


class Unauthorized(Exception):
    """The registry refused our credentials (or wanted some and we have none)."""


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a ``WWW-Authenticate`` value (one or more challenges) into values."""
    challenges: list[Challenge] = []
    position = 0
    while position < len(header):
        scheme = _SCHEME.match(header, position)
        if scheme is None:
            break
        params: dict[str, str] = {}
        position = scheme.end()
        while (param := _PARAM.match(header, position)) is not None and param.group(1):
            params[param.group(1).lower()] = _unquote(param.group(2))
            position = param.end()
        challenges.append(Challenge(scheme=scheme.group(1).lower(), params=params))
        position = max(position, scheme.end())
        if header[position:position + 1] == ",":
            position += 1
    return challenges


def basic_header(credential: Credential) -> str:
    token = base64.b64encode(f"{credential.username}:{credential.password}".encode())
    return f"Basic {token.decode()}"


class Authorizer:
    """Answers one repository's challenges with one credential (or none)."""

    def __init__(self, session: aiohttp.ClientSession, *, credential: Credential | None,
                 scope: str) -> None:
        self._session = session
        self._credential = credential
        self._scope = scope
        self.header: str | None = None

    async def answer(self, challenges: list[Challenge]) -> None:
        """Set :attr:`header` for the retry, or raise :class:`Unauthorized`."""
        for challenge in challenges:
            if challenge.scheme == "bearer" and "realm" in challenge.params:
                self.header = f"Bearer {await self._token(challenge.params)}"
                return
            if challenge.scheme == "basic" and self._credential is not None:
                self.header = basic_header(self._credential)
                return
        raise Unauthorized("unauthorized: authentication required")

    async def _token(self, params: Mapping[str, str]) -> str:
        query = {"scope": params.get("scope") or self._scope}
        if "service" in params:
            query["service"] = params["service"]
        headers = {} if self._credential is None else {
            "Authorization": basic_header(self._credential)}
        async with self._session.get(params["realm"], params=query, headers=headers) as reply:
            if reply.status in (401, 403):
                raise Unauthorized("unauthorized: authentication required"
                                   if self._credential is None else
                                   "unauthorized: the token server refused the credentials")
            if reply.status != 200:
                raise Unauthorized(f"token server answered HTTP {reply.status}")
            document = await reply.json(content_type=None)
        token = document.get("token") or document.get("access_token") if isinstance(
            document, dict) else None
        if not isinstance(token, str) or not token:
            raise Unauthorized("token server answered without a token")
        return token


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value
