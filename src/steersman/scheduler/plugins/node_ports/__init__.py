"""NodePorts: a pod's host ports must be free on the node."""

from steersman.scheduler.plugins.node_ports.node_ports import ERR_REASON, NAME, NodePorts, new

__all__ = ["ERR_REASON", "NAME", "NodePorts", "new"]
