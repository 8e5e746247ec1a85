"""Service-account issuer discovery: ``/.well-known/openid-configuration`` and ``/openid/v1/jwks``.

The documents kube-apiserver serves (``pkg/serviceaccount/openidmetadata.go``) so that
other systems can verify service-account tokens: the issuer, where its keys are, and the
public keys as a JWK Set. Both need an authenticated caller, as in kube without an extra
RBAC binding for anonymous discovery.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from steersman.apiserver.jws import ALGORITHM
from steersman.apiserver.service_account_tokens import ServiceAccountTokens

CONFIGURATION_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/openid/v1/jwks"
OIDC_PATHS = frozenset({CONFIGURATION_PATH, JWKS_PATH})
_CACHE_CONTROL = "public, max-age=3600"


class OIDCDiscovery:
    """Serves the issuer's discovery document and JWKS for one token issuer."""

    def __init__(self, tokens: ServiceAccountTokens, *, server_address: str) -> None:
        self._tokens = tokens
        self._jwks_uri = f"https://{server_address}{JWKS_PATH}"

    def handler(self, path: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The handler of one of :data:`OIDC_PATHS`."""
        return self.configuration if path == CONFIGURATION_PATH else self.jwks

    async def configuration(self, request: web.Request) -> web.StreamResponse:
        document = {
            "issuer": self._tokens.issuer, "jwks_uri": self._jwks_uri,
            "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
        }
        return _response(document, "application/json")

    async def jwks(self, request: web.Request) -> web.StreamResponse:
        return _response(self._tokens.jwks(), "application/jwk-set+json")


def _response(document: object, content_type: str) -> web.Response:
    return web.Response(body=orjson.dumps(document), content_type=content_type,
                        headers={"Cache-Control": _CACHE_CONTROL})
