"""The Kubernetes channel protocols: names, channel numbers, and the status message.

Remote command (exec, attach) over WebSocket: every binary message is one channel byte and
a payload. Channels are 0 stdin, 1 stdout, 2 stderr, 3 error (one status message from the
server at the end), 4 resize (JSON ``{"Width":…,"Height":…}`` from the client); in v5 the
client sends ``[255, channel]`` to close a channel (its stdin hit EOF).
(kubernetes/apimachinery ``pkg/util/remotecommand/constants.go``,
``pkg/util/httpstream/wsstream/doc.go``.)

The status on channel 3 is a JSON ``Status`` in v4 and v5; in the older protocols it is the
bare failure message, and nothing on success.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

STDIN = 0
STDOUT = 1
STDERR = 2
ERROR = 3
RESIZE = 4
CLOSE = 255

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
V3 = "v3.channel.k8s.io"
V2 = "v2.channel.k8s.io"
V1 = "channel.k8s.io"
# Offered in this order: aiohttp picks the client's first protocol we also speak.
REMOTE_COMMAND_PROTOCOLS = (V5, V4, V3, V2, V1)
PORT_FORWARD_WS_PROTOCOLS = (V4, V1)
SPDY_PORT_FORWARD_TUNNEL = "SPDY/3.1+portforward.k8s.io"
SPDY_PORT_FORWARD_PROTOCOL = "portforward.k8s.io"

NON_ZERO_EXIT_CODE = "NonZeroExitCode"
EXIT_CODE_CAUSE = "ExitCode"


def supports_close_signal(protocol: str) -> bool:
    return protocol == V5


def structured_status(protocol: str) -> bool:
    """Whether the status on the error channel is JSON (v4 and later)."""
    return protocol in (V5, V4)


def success_status() -> dict[str, Any]:
    return {"metadata": {}, "status": "Success"}


def failure_status(message: str) -> dict[str, Any]:
    return {"metadata": {}, "status": "Failure", "message": message}


def exit_code_status(command: Sequence[str], code: int) -> dict[str, Any]:
    """The status of a command that exited non-zero, as the kubelet words it."""
    shown = "[" + " ".join(command) + "]"
    return {
        "metadata": {},
        "status": "Failure",
        "message": (f"command terminated with non-zero exit code: error executing command "
                    f"{shown}, exit code {code}"),
        "reason": NON_ZERO_EXIT_CODE,
        "details": {"causes": [{"reason": EXIT_CODE_CAUSE, "message": str(code)}]},
    }


def encode_status(protocol: str, status: dict[str, Any]) -> bytes | None:
    """The error channel's payload for ``status`` in ``protocol``; None: send nothing."""
    if structured_status(protocol):
        return orjson.dumps(status)
    if status.get("status") == "Success":
        return None
    return str(status.get("message", "")).encode()
