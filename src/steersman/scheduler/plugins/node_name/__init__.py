"""NodeName: a pod that names a node (``spec.nodeName``) fits only that node."""

from steersman.scheduler.plugins.node_name.node_name import ERR_REASON, NAME, NodeName, new

__all__ = ["ERR_REASON", "NAME", "NodeName", "new"]
