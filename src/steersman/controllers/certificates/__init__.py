"""Certificate signing requests: the approving, signing and cleaning controllers."""

from steersman.controllers.certificates.approver import CSRApprovingController
from steersman.controllers.certificates.cleaner import CSRCleanerController
from steersman.controllers.certificates.signer import ClusterSigning, CSRSigningController

__all__ = ["CSRApprovingController", "CSRCleanerController", "CSRSigningController",
           "ClusterSigning"]
