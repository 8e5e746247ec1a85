"""What a CertificateSigningRequest asks for, read once for the approver and the signer.

Pure: decode ``spec.request``, read its subject and SANs, tell the kubelet request shapes
apart (kube's ``pkg/apis/certificates/v1`` helpers ``IsKubeletClientCSR`` and
``IsKubeletServingCSR``) and answer whether a CSR is approved, denied, failed or issued.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from steersman.client import Resource

CSRS = Resource("certificates.k8s.io", "v1", "certificatesigningrequests", namespaced=False,
                kind="CertificateSigningRequest")
KUBELET_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING_SIGNER = "kubernetes.io/kubelet-serving"
KUBE_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client"
NODE_USER_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
_CLIENT_USAGES = frozenset({"key encipherment", "digital signature", "client auth"})
_SERVING_USAGES = frozenset({"key encipherment", "digital signature", "server auth"})

Object = dict[str, Any]


@dataclass(frozen=True)
class Request:
    """The parts of a CSR the controllers decide on."""

    name: str
    signer: str
    usages: frozenset[str]
    requester: str
    groups: tuple[str, ...]
    csr: x509.CertificateSigningRequest
    expiration_seconds: int | None

    @property
    def common_name(self) -> str:
        values = self.csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(values[0].value) if values else ""

    @property
    def organizations(self) -> tuple[str, ...]:
        return tuple(str(a.value) for a in
                     self.csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))

    def sans(self) -> list[x509.GeneralName]:
        try:
            extension = self.csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except x509.ExtensionNotFound:
            return []
        return list(extension.value)


def parse(obj: Mapping[str, Any]) -> Request:
    """The request of a CSR object; ValueError when ``spec.request`` is not a CSR."""
    spec = obj.get("spec") or {}
    pem = base64.b64decode(str(spec.get("request") or ""))
    seconds = spec.get("expirationSeconds")
    return Request(name=str(obj["metadata"]["name"]), signer=str(spec.get("signerName") or ""),
                   usages=frozenset(spec.get("usages") or ()),
                   requester=str(spec.get("username") or ""),
                   groups=tuple(spec.get("groups") or ()),
                   csr=x509.load_pem_x509_csr(pem),
                   expiration_seconds=seconds if isinstance(seconds, int) else None)


def kubelet_client_problem(request: Request) -> str:
    """Why ``request`` is not a node client certificate request; "" when it is one."""
    if request.organizations != (NODES_GROUP,):
        return f"the subject's organization must be exactly {NODES_GROUP}"
    if not request.common_name.startswith(NODE_USER_PREFIX):
        return f'the common name must start with "{NODE_USER_PREFIX}"'
    if request.sans():
        return "a node client certificate may not have subject alternative names"
    if "client auth" not in request.usages or not request.usages <= _CLIENT_USAGES:
        return f"usages must include client auth and be among {sorted(_CLIENT_USAGES)}"
    return ""


def kubelet_serving_problem(request: Request) -> str:
    """Why ``request`` is not a node serving certificate request; "" when it is one."""
    if request.organizations != (NODES_GROUP,):
        return f"the subject's organization must be exactly {NODES_GROUP}"
    if not request.common_name.startswith(NODE_USER_PREFIX):
        return f'the common name must start with "{NODE_USER_PREFIX}"'
    sans = request.sans()
    if not sans or not all(isinstance(s, x509.DNSName | x509.IPAddress) for s in sans):
        return "a node serving certificate needs DNS or IP subject alternative names only"
    if "server auth" not in request.usages or not request.usages <= _SERVING_USAGES:
        return f"usages must include server auth and be among {sorted(_SERVING_USAGES)}"
    return ""


def condition(obj: Mapping[str, Any], kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status", "True") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def decided(obj: Mapping[str, Any]) -> bool:
    return condition(obj, "Approved") or condition(obj, "Denied")


def issued(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("status") or {}).get("certificate"))
