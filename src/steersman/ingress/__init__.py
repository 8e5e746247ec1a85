"""The ingress controller: networking.k8s.io/v1 Ingress routing with TLS termination."""
