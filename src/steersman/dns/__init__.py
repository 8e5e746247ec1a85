"""Cluster DNS: ``<svc>.<ns>.svc.cluster.local`` and pod records from the API, served over UDP and TCP."""
