"""Create-path micro-benchmark: µs of server CPU per pod create, in process, without HTTP.

``bench/api.py`` drives a real server over HTTPS; its create figure mixes the API server's
own work with TLS, aiohttp's HTTP parsing and the in-process controllers. This one times
only what the server does between a parsed request and its response object, for the same
~2 KB pod: the API server is wired as ``steersman server`` wires it (``ControlPlane``'s
``_build_api`` on a memory store: every admission plugin, the static-token authenticator),
each request is an aiohttp request made beforehand with ``make_mocked_request``, and it
goes through what the server runs per request (``APIServer.handle``, or the app's error and
authentication middlewares where that does not exist), routing, ``ResourceHandlers``,
``GenericRegistry.create`` and the store write, up to the ``web.Response`` with its body.
The watch cache's catching up with the round's writes is timed with them, as the server
pays for it on the same thread. Every body repeats one template and
differs in its name, as a ReplicaSet's pods do.

The machine is shared and noisy, so the figure comes with a baseline timed in the same
run, interleaved round by round: ``orjson`` loads plus dumps of the same body, the least a
create could cost. Times are the main thread's CPU time (``time.thread_time``), so that
time spent waiting for a CPU does not count. Prints one JSON line: the medians over the
rounds, µs per create and per baseline, their ratio, and the young-generation garbage
collections per 1,000 creates (allocation churn). ``--profile FILE`` writes a cProfile of
the timed creates.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from aiohttp import streams, web
from aiohttp.test_utils import make_mocked_request

from api import pod_body  # the same pod as bench/api.py's creates
from steersman.apiserver.app import APIServer
from steersman.apiserver.watchcache import WatchCache
from steersman.server.controlplane import ControlPlane, ServerConfig
from steersman.store import open_store

NAMESPACE = "bench"
PATH = f"/api/v1/namespaces/{NAMESPACE}/pods"


class _Protocol:
    """What a request and its body's reader ask of the connection (instead of a Mock, whose
    attribute look-ups would be timed with the handlers): no flow control, no peer data."""

    transport: Any = None
    writer: Any = None
    peername = sockname = ssl_context = None
    max_field_size = max_line_length = 8190
    max_headers = 128

    def pause_reading(self, *args: Any, **kwargs: Any) -> None:
        return None

    def resume_reading(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Transport:
    """What the handlers ask of a TLS transport: no client certificate (a bearer token)."""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


async def build_api(data_dir: Path) -> tuple[APIServer, WatchCache, str]:
    plane = ControlPlane(ServerConfig(data_dir=data_dir, store_url="memory://", port=0))
    plane.port = 6443  # what the kubernetes Endpoints name; nothing listens
    plane.store = open_store("memory://")
    await plane.store.start()
    plane.cache = WatchCache(plane.store)
    await plane.cache.start()
    api = await plane._build_api()
    token = (data_dir / "admin.token").read_text().strip()
    return api, plane.cache, token


def make_request(body: bytes, token: str, *, method: str = "POST", path: str = PATH,
                 content_type: str = "application/json",
                 user_agent: str = "bench/1.0") -> web.Request:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type,
               "Accept": "application/json", "User-Agent": user_agent,
               "Content-Length": str(len(body))}
    return make_mocked_request(method, path, headers, payload=payload(body),
                               transport=_Transport(), protocol=_Protocol())


def handler_for(api: APIServer) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """What the server runs per request: ``APIServer.handle`` (aiohttp's low-level handler)
    where it exists, else the app's middlewares around its one route, as aiohttp chains them."""
    handle: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = getattr(
        api, "handle", None)
    if handle is not None:
        return handle
    errors_middleware, authenticate = api._errors, api._authenticate

    async def authenticated(request: web.Request) -> web.StreamResponse:
        response: web.StreamResponse = await authenticate(request, api._route)
        return response

    async def chained(request: web.Request) -> web.StreamResponse:
        response: web.StreamResponse = await errors_middleware(request, authenticated)
        return response

    return chained


async def create_round(api: APIServer, cache: WatchCache, token: str, start: int,
                       count: int, profile: cProfile.Profile | None) -> tuple[float, int]:
    """µs per create over ``count`` creates (requests built first, untimed), and how many
    young-generation collections they caused (the allocation churn the server pays in GC)."""
    handle = handler_for(api)
    requests = [make_request(pod_body(f"pod-{start + i:07d}", NAMESPACE), token)
                for i in range(count)]
    gc.collect()
    if profile is not None:
        profile.enable()
    collections, began = gc.get_stats()[0]["collections"], time.thread_time()
    for request in requests:
        response = await handle(request)
        if response.status != 201:
            raise RuntimeError(f"create answered {response.status}: {response.body!r}")
    await cache.sync()  # the watch cache taking the writes in is part of each create's cost
    took = time.thread_time() - began
    collections = gc.get_stats()[0]["collections"] - collections
    if profile is not None:
        profile.disable()
    return took / count * 1e6, collections


def baseline_round(count: int) -> float:
    """µs per orjson loads + dumps of the same body."""
    bodies = [pod_body(f"pod-{i:07d}", NAMESPACE) for i in range(count)]
    gc.collect()
    began = time.thread_time()
    for body in bodies:
        orjson.dumps(orjson.loads(body))
    return (time.thread_time() - began) / count * 1e6


async def create_namespace(api: APIServer, token: str) -> None:
    namespace = orjson.dumps({"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": NAMESPACE}})
    request = make_request(namespace, token, path="/api/v1/namespaces")
    if (await handler_for(api)(request)).status != 201:
        raise RuntimeError("could not create the bench namespace")


async def run(rounds: int, per_round: int, profile_path: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="create-path-") as tmp:
        api, cache, token = await build_api(Path(tmp))
        await create_namespace(api, token)
        await cache.sync()
        await create_round(api, cache, token, 0, per_round, None)  # warm-up
        profile = cProfile.Profile() if profile_path else None
        creates, baselines, collections = [], [], 0
        for index in range(rounds):
            baselines.append(baseline_round(per_round))
            took, collected = await create_round(api, cache, token, (index + 1) * per_round,
                                                 per_round, profile)
            creates.append(took)
            collections += collected
        if profile is not None:
            profile.dump_stats(profile_path)
        await cache.close()
    create_us, baseline_us = statistics.median(creates), statistics.median(baselines)
    return {"bench": "create_path", "rounds": rounds, "creates_per_round": per_round,
            "create_us": round(create_us, 1), "baseline_orjson_us": round(baseline_us, 2),
            "create_over_baseline": round(create_us / baseline_us, 1),
            "create_us_min": round(min(creates), 1),
            "gen0_collections_per_1000_creates": round(collections / rounds / per_round * 1000,
                                                       1)}


def payload(body: bytes) -> streams.StreamReader:
    """A request body reader that already holds all of ``body``."""
    reader = streams.StreamReader(_Protocol(), 2**16,  # type: ignore[arg-type]
                                  loop=asyncio.get_running_loop())
    reader.feed_data(body)
    reader.feed_eof()
    return reader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=400)
    parser.add_argument("--profile", default="", help="write a cProfile of the creates here")
    args = parser.parse_args()
    result = asyncio.run(run(args.rounds, args.per_round, args.profile))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
