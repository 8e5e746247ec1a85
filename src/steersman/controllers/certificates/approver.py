"""The CSR approving controller: approve the certificate requests a node agent makes.

kube-controller-manager's ``csrapproving`` approves kubelet client certificates when a
SubjectAccessReview lets the requester create ``certificatesigningrequests/nodeclient``
(bootstrappers) or ``/selfnodeclient`` (a node renewing its own). steersman has no RBAC
yet, so the rules are the ones kubeadm's default bindings give:

* signer ``kube-apiserver-client-kubelet``, a well-formed node client request, asked by a
  member of ``system:bootstrappers`` or ``system:masters``, or by the very node it names;
* signer ``kubelet-serving``, a well-formed node serving request asked by the very node it
  names. (Upstream leaves serving certificates to an external approver; k3s signs them
  without one. A node only ever gets a serving certificate for its own name.)

Anything else is left for a person (``kubectl certificate approve|deny``). Reconcile by CSR
name: decided requests are skipped, approvals go through the ``approval`` subresource.
"""

from __future__ import annotations

import logging

from steersman.api.errors import StatusError
from steersman.client import Client, Clock
from steersman.controllers.certificates import requests as req
from steersman.controllers.runtime import InformerFactory, QueueController

log = logging.getLogger(__name__)
_APPROVERS = ("system:bootstrappers", "system:masters")


def approval_reason(request: req.Request) -> str:
    """The message of an auto-approval, or "" when ``request`` is not for this controller."""
    self_request = request.requester == request.common_name
    if request.signer == req.KUBELET_CLIENT_SIGNER and not req.kubelet_client_problem(request):
        if self_request:
            return "Auto approving self kubelet client certificate after SubjectAccessReview."
        if any(group in request.groups for group in _APPROVERS):
            return "Auto approving kubelet client certificate after SubjectAccessReview."
    if (request.signer == req.KUBELET_SERVING_SIGNER and self_request
            and req.NODES_GROUP in request.groups and not req.kubelet_serving_problem(request)):
        return "Auto approving kubelet serving certificate of the node that asked for it."
    return ""


class CSRApprovingController(QueueController):
    name = "csrapproving"

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)

    def setup(self, factory: InformerFactory) -> None:
        self._csrs = factory.informer(req.CSRS)
        self._csrs.add_handlers(on_add=self.enqueue, on_update=lambda _, new: self.enqueue(new))

    async def reconcile(self, key: str) -> float | None:
        obj = self._csrs.indexer.get(key)
        if obj is None or req.decided(obj):
            return None
        try:
            request = req.parse(obj)
        except ValueError:
            return None
        message = approval_reason(request)
        if message:
            await self._approve(obj, message)
        return None

    async def _approve(self, obj: req.Object, message: str) -> None:
        approved = {**obj, "status": {**(obj.get("status") or {}), "conditions": [
            *((obj.get("status") or {}).get("conditions") or []),
            {"type": "Approved", "status": "True", "reason": "AutoApproved",
             "message": message}]}}
        try:
            await self.client.update(req.CSRS, approved, subresource="approval")
        except StatusError as err:
            if err.code not in (404, 409):
                raise
            log.debug("approving %s: %s", obj["metadata"]["name"], err)
