"""The canonical JSON contract of the engine: request and response models.

Requesters speak JSON in the layout of the Optum (Change Healthcare) Medical
Network APIs; the engine translates it to and from X12. This package is the one
place that says what that JSON looks like. The top-level models are:

* ``EligibilityRequest`` / ``EligibilityResponse`` (270/271)
* ``ProfessionalClaimRequest`` (837P) and ``InstitutionalClaimRequest`` (837I)
* ``InterchangeAcknowledgment`` (TA1) and ``FunctionalAcknowledgment`` (999)
* ``ClaimAcknowledgmentReport`` (277CA), ``PaymentReport`` (835) and
  ``ClaimStatusResponse`` (277 claim status)

Their parts live in the submodules and are importable from there.
"""

from __future__ import annotations

from edi.models.acks import FunctionalAcknowledgment, InterchangeAcknowledgment
from edi.models.claims import InstitutionalClaimRequest, ProfessionalClaimRequest
from edi.models.common import RequestModel, ResponseModel
from edi.models.eligibility import EligibilityRequest, EligibilityResponse
from edi.models.reports import ClaimAcknowledgmentReport, ClaimStatusResponse, PaymentReport

__all__ = [
    "ClaimAcknowledgmentReport",
    "ClaimStatusResponse",
    "EligibilityRequest",
    "EligibilityResponse",
    "FunctionalAcknowledgment",
    "InstitutionalClaimRequest",
    "InterchangeAcknowledgment",
    "PaymentReport",
    "ProfessionalClaimRequest",
    "RequestModel",
    "ResponseModel",
]
