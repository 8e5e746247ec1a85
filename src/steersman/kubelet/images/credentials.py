"""Registry credentials from imagePullSecrets, matched to an image as the kubelet does.

Secrets of type ``kubernetes.io/dockerconfigjson`` (``.dockerconfigjson``: ``{"auths":
{host: entry}}``) and ``kubernetes.io/dockercfg`` (``.dockercfg``: ``{host: entry}``) are
read; an entry has ``auth`` (base64 ``user:password``) or ``username``/``password``. Keys
match like the kubelet's ``credentialprovider`` keyring: a scheme and trailing ``/`` are
ignored, ``*`` matches one host label, a port must match when the key has one, and a key's
path must be a prefix of the image's repository path; ``index.docker.io`` and
``registry-1.docker.io`` stand for ``docker.io``. The most specific keys come first; the
puller tries each in turn (and anonymous access when none matches).
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from steersman.kubelet.images.errors import ImageError
from steersman.kubelet.images.reference import DOCKER_HUB, Reference

DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"
DOCKER_CFG = "kubernetes.io/dockercfg"
_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")


@dataclass(frozen=True, slots=True)
class Credential:
    """A username and password for the registries whose key matches."""

    key: str
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credential(key={self.key!r}, username={self.username!r}, password=***)"


def credentials_from_secret(secret: Mapping[str, Any]) -> list[Credential]:
    """The credentials in one Secret object (its ``data`` base64, as the API returns it)."""
    kind = secret.get("type")
    data = secret.get("data") or {}
    if kind == DOCKER_CONFIG_JSON:
        document = _decode_json(data.get(".dockerconfigjson"), secret)
        entries = document.get("auths") or {}
    elif kind == DOCKER_CFG:
        entries = _decode_json(data.get(".dockercfg"), secret)
    else:
        raise ImageError(f"secret {_name(secret)} has type {kind!r}, not {DOCKER_CONFIG_JSON}")
    return [credential for key, entry in entries.items()
            if (credential := _credential(key, entry)) is not None]


def matching(credentials: Iterable[Credential], ref: Reference) -> list[Credential]:
    """The credentials whose key matches ``ref``, the most specific first."""
    found = [credential for credential in credentials if _matches(credential.key, ref)]
    return sorted(found, key=lambda credential: len(_normalise_key(credential.key)),
                  reverse=True)


def _credential(key: str, entry: Mapping[str, Any]) -> Credential | None:
    username, password = str(entry.get("username") or ""), str(entry.get("password") or "")
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(str(entry["auth"]), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ImageError(f"registry {key}: 'auth' is not base64 of user:password") from exc
        username, sep, password = decoded.partition(":")
        if not sep:
            raise ImageError(f"registry {key}: 'auth' is not base64 of user:password")
    if not username and not password:
        return None
    return Credential(key=key, username=username, password=password)


def _decode_json(value: Any, secret: Mapping[str, Any]) -> dict[str, Any]:
    try:
        document = json.loads(base64.b64decode(str(value or ""), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ImageError(f"secret {_name(secret)} holds no valid docker config") from exc
    if not isinstance(document, dict):
        raise ImageError(f"secret {_name(secret)} holds no valid docker config")
    return document


def _name(secret: Mapping[str, Any]) -> str:
    metadata = secret.get("metadata") or {}
    return f"{metadata.get('namespace', '')}/{metadata.get('name', '')}".strip("/") or "?"


def _normalise_key(key: str) -> str:
    for scheme in ("https://", "http://"):
        key = key.removeprefix(scheme)
    host, slash, path = key.partition("/")
    if host in _HUB_ALIASES:
        host = DOCKER_HUB
    path = path.rstrip("/")
    if host == DOCKER_HUB and path == "v1":
        path = ""
    return f"{host}/{path}" if slash and path else host


def _matches(key: str, ref: Reference) -> bool:
    key_host, _, key_path = _normalise_key(key).partition("/")
    if not _host_matches(key_host, ref.domain):
        return False
    return not key_path or f"{ref.path}/".startswith(f"{key_path}/")


def _host_matches(pattern: str, host: str) -> bool:
    pattern_name, _, pattern_port = pattern.partition(":")
    name, _, port = host.partition(":")
    if pattern_port and pattern_port != port:
        return False
    labels, wanted = pattern_name.split("."), name.split(".")
    return len(labels) == len(wanted) and all(
        fnmatch.fnmatchcase(label, pattern) for pattern, label in zip(labels, wanted, strict=True))
