"""The FHIR R4 server boundary: client, SMART auth, retries, capabilities, Bulk export, errors."""

# Three submodules are used as modules: edc.fhir.resources (R4B models, parse_resource,
# validate_r4; the only importer of fhir.resources), edc.fhir.bulk (Bulk Data export) and
# edc.fhir.target (which server, with which credentials: ServerSpec, SmartSpec).
from edc.fhir import bulk, deadlines, origins, resources, scratch, target
from edc.fhir.auth import SmartBackendAuth
from edc.fhir.bundles import EntryResult, FhirResponse, SearchPage, entry_results
from edc.fhir.capabilities import Capabilities, ResourceSupport
from edc.fhir.client import FhirClient, search_token
from edc.fhir.errors import (
    AuthError,
    BulkExportError,
    ConflictError,
    DeadlineError,
    FatalNetworkError,
    FhirRequestError,
    NetworkError,
    ResourceNotFoundError,
    TemporaryNetworkError,
    UnsupportedFeatureError,
)
from edc.fhir.http import DEFAULT_TIMEOUT, RetryPolicy, parse_retry_after
from edc.fhir.outcome import Issue

__all__ = [
    "DEFAULT_TIMEOUT",
    "AuthError",
    "BulkExportError",
    "Capabilities",
    "ConflictError",
    "DeadlineError",
    "EntryResult",
    "FatalNetworkError",
    "FhirClient",
    "FhirRequestError",
    "FhirResponse",
    "Issue",
    "NetworkError",
    "ResourceNotFoundError",
    "ResourceSupport",
    "RetryPolicy",
    "SearchPage",
    "SmartBackendAuth",
    "TemporaryNetworkError",
    "UnsupportedFeatureError",
    "bulk",
    "deadlines",
    "entry_results",
    "origins",
    "parse_retry_after",
    "resources",
    "scratch",
    "search_token",
    "target",
]
