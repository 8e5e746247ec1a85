"""The service proxy: Services and EndpointSlices made reachable on every node (userspace and nftables backends)."""
