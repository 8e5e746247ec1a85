"""The node's streaming server: logs, exec, attach and port-forward on port 10250.

* :mod:`.server` — the HTTPS application and its routes; wired with a
  :class:`~.targets.PodResolver` and a :class:`~.targets.StreamingRuntime` (:mod:`.targets`).
* :mod:`.logs`, :mod:`.crilog` — reading CRI log files (tail, since, follow across
  rotation) and the rotating writer a runtime feeds container output to.
* :mod:`.remotecommand`, :mod:`.wsstream`, :mod:`.channels` — exec and attach over the
  WebSocket channel protocols (v5, v4 and older).
* :mod:`.portforward` over :mod:`.spdy` (a SPDY/3.1 session; :mod:`.spdy_frames`,
  :mod:`.spdy_dictionary`) on a raw upgraded connection or inside a WebSocket
  (:mod:`.transports`), and over the WebSocket channel protocol.

The API server reaches it by proxying ``pods/log``, ``pods/exec``, ``pods/attach`` and
``pods/portforward`` (``steersman.apiserver.nodeproxy``).
"""

from steersman.kubelet.streaming.server import StreamingServer, serving_ssl_context
from steersman.kubelet.streaming.targets import (
    ContainerTarget,
    ExecFailed,
    ExecIO,
    PodResolver,
    PodTarget,
    StreamingRuntime,
    TerminalSize,
)

__all__ = [
    "ContainerTarget",
    "ExecFailed",
    "ExecIO",
    "PodResolver",
    "PodTarget",
    "StreamingRuntime",
    "StreamingServer",
    "TerminalSize",
    "serving_ssl_context",
]
