"""The one place that knows azure-core and kiota exceptions and turns them into ApplicationErrors.

    with azure_errors("create disk encryption set des-1"):
        await poller.result()

Exception raised by an SDK call        -> ApplicationError (models.ErrorType), retryable?
├── ClientAuthenticationError           the worker's own credential (token endpoint)
│   ├── AADSTS code of a bad credential -> AZURE_REQUEST_REJECTED, non-retryable
│   └── anything else                   -> plain, retryable
├── HttpResponseError (ARM, LRO result) / APIError, ODataError (Graph): by text, code, status
│   │   (a failed async operation arrives with HTTP status 200: the poll itself succeeded)
│   ├── AADSTS70021 (FIC not replicated yet) -> FIC_PROPAGATING, retryable for
│   │                                       FIC_PROPAGATION_WINDOW, then ISV rejection
│   ├── customer trust-chain text/code  -> CUSTOMER_SETUP, non-retryable, details=[issue]
│   ├── ISV trust-chain code            -> AZURE_REQUEST_REJECTED, non-retryable
│   ├── 403 AuthorizationFailed / LinkedAuthorizationFailed / Authorization_RequestDenied
│   │                                   -> AZURE_REQUEST_REJECTED, non-retryable, names the
│   │                                       missing action or Graph permission and the role
│   ├── 429                             -> THROTTLED, retryable, next_retry_delay = Retry-After
│   ├── 5xx, or a transient code (InternalError...) at any status -> plain, retryable (bounded
│   │                                       by the activity's retry policy)
│   ├── 400/200 bad input we sent       -> INVALID_REQUEST, non-retryable
│   ├── 401/403 (the ISV principal)     -> AZURE_REQUEST_REJECTED, non-retryable (expired: retry)
│   ├── 400/200/no status, unknown code -> UNRECOGNIZED_REJECTION, non-retryable, details=[raw]
│   ├── other 4xx except 408/409        -> AZURE_REQUEST_REJECTED, non-retryable
│   └── 408, 409                        -> plain, retryable
├── ServiceRequestError / ServiceResponseError / httpx.TransportError -> plain, retryable
└── anything else                       -> propagates unchanged (Temporal retries it)

Messages carry Azure's code and message and the x-ms-request-id, never headers or tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from kiota_abstractions.api_error import APIError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.isv_access import isv_access
from config.logging_setup import redact_text
from models import CustomerSetupIssue, ErrorType
from models.wording import duration_words

DEFAULT_THROTTLE_DELAY = timedelta(seconds=10)
MAX_MESSAGE = 600

# Azure refused with a code we do not know: not transient, not a known customer or ISV fix. The
# workflow sends it back to the customer and flags the operator; details carry Azure's raw
# (redacted) code, message and request id.
UNRECOGNIZED_REJECTION = ErrorType.UNRECOGNIZED_REJECTION
# AADSTS70021 right after the FIC was written: Entra has not replicated it yet. Learn
# (workload-identity-federation-considerations, "Time for federated credential changes to
# propagate") says a token request "several minutes after configuring" may still fail and
# recommends retries. The bound lives here, and it is time, not attempts: crashed workers and 429s
# also use attempts up. The activity was scheduled after the credential was written (the customer
# hand-off lies between them), so the time since it was first scheduled is a lower bound on the
# credential's age: within FIC_PROPAGATION_WINDOW of scheduling, retry FIC_PROPAGATION_DELAY apart;
# later, the credential is old enough that it is a real mismatch, an ISV-side rejection. The window
# must stay well inside the activity's own retry window (workflows/options.py, hours), or the
# policy would end the retries first with this retryable type instead of the clear rejection.
FIC_PROPAGATING = ErrorType.FIC_PROPAGATING
FIC_PROPAGATION_WINDOW = timedelta(minutes=10)
FIC_PROPAGATION_DELAY = timedelta(seconds=60)

Side = Literal["customer", "isv"]


@dataclass(frozen=True)
class TrustChainRule:
    """A trust-chain failure: who must act and the sentence that tells them how."""

    code: str
    side: Side
    fix: str


_RULES = (
    TrustChainRule(
        "ApplicationNotFoundInCustomerTenant",
        "customer",
        "Grant admin consent to the ISV application in your tenant (open the consent URL, or run "
        "`az ad sp create --id <appId>`), then submit the key URL again.",
    ),
    TrustChainRule(
        "KeyVaultAccessForbidden",
        "customer",
        "Assign the role 'Key Vault Crypto Service Encryption User' to the ISV application's "
        "service principal on the vault or key (or grant get, wrapKey and unwrapKey in the "
        "vault's access policy), then submit the key URL again.",
    ),
    TrustChainRule(
        "KeyVaultNotFound",
        "customer",
        "Check the key URL: the vault must exist in your tenant; copy the key identifier from "
        "`az keyvault key show --vault-name <vault> --name <key> --query key.kid`.",
    ),
    TrustChainRule(
        "KeyNotFound",
        "customer",
        "Check the key URL: the key (and version, if given) must exist in the vault; copy it "
        "from `az keyvault key show --vault-name <vault> --name <key> --query key.kid`.",
    ),
    TrustChainRule(
        "KeyVaultPurgeProtectionNotEnabled",
        "customer",
        "Enable purge protection on the vault: "
        "`az keyvault update --name <vault> --enable-purge-protection true`.",
    ),
    TrustChainRule(
        "KeyVaultSoftDeleteNotEnabled",
        "customer",
        "Enable soft delete on the vault (`az keyvault update --name <vault> "
        "--enable-soft-delete true`), or create a new vault, which has it on by default.",
    ),
    TrustChainRule(
        "KeyDisabled",
        "customer",
        "Enable the key: `az keyvault key set-attributes --vault-name <vault> --name <key> "
        "--enabled true`.",
    ),
    TrustChainRule(
        "KeyExpired",
        "customer",
        "Set a later expiry on the key or create a new key version, then send the key URL again.",
    ),
    TrustChainRule(
        "KeyTypeNotSupported",
        "customer",
        "Use an RSA or RSA-HSM key: `az keyvault key create --vault-name <vault> --name <key> "
        "--kty RSA --size 3072`.",
    ),
    TrustChainRule(
        "KeySizeNotSupported",
        "customer",
        "Use an RSA key of 2048, 3072 or 4096 bits: `az keyvault key create --vault-name "
        "<vault> --name <key> --kty RSA --size 3072`.",
    ),
    TrustChainRule(
        "KeyVaultRegionMismatch",
        "customer",
        "Create the vault and key in the same Azure region as the ISV's disks, then send the "
        "new key URL.",
    ),
    TrustChainRule(
        "FederatedCredentialMismatch",
        "isv",
        "The federated credential on the ISV application does not match the managed identity "
        "(issuer, subject = principalId, audience api://AzureADTokenExchange); re-run the "
        "identity step.",
    ),
    TrustChainRule(
        "UserAssignedIdentityNotFound",
        "isv",
        "The user-assigned managed identity named by the disk encryption set no longer exists in "
        "the ISV subscription; start the onboarding again so the identity step recreates it.",
    ),
    TrustChainRule(
        "InvalidFederatedClientId",
        "isv",
        "federatedClientId must be the appId of a multi-tenant (AzureADMultipleOrgs) application "
        "in the ISV tenant.",
    ),
)
_RULES_BY_CODE = {rule.code.lower(): rule for rule in _RULES}
# A Managed HSM key needs the HSM's local RBAC role, assigned with the HSM's own command.
_HSM_ACCESS_FIX = (
    "Assign the Managed HSM local role 'Managed HSM Crypto Service Encryption User' "
    "(33413926-3206-4cdd-b39a-83574fe37a17) to the ISV application's service principal on the "
    'key: `az keyvault role assignment create --hsm-name <hsm> --role "Managed HSM Crypto '
    'Service Encryption User" --assignee <appId> --scope /keys/<key>`, then submit the key URL '
    "again."
)
_MANAGED_HSM_HOST = re.compile(r"(?i)\.managedhsm\.azure\.net")

# Entra codes embedded in a DiskRP message name the broken link more precisely than the wrapping
# ARM code (KeyVaultAccessForbidden), so they are read first. 7000229 is "missing service
# principal in the tenant", i.e. no consent, like 700016.
_ENTRA_PATTERNS = (
    (re.compile(r"AADSTS(700016|7000229)\b"), "ApplicationNotFoundInCustomerTenant"),
    (re.compile(r"AADSTS70021\b"), "FederatedCredentialMismatch"),
)
# Real Azure often wraps the cause in a generic code; these message patterns name it.
_MESSAGE_PATTERNS = (
    (re.compile(r"(?i)unable to access key vault"), "KeyVaultAccessForbidden"),
    (re.compile(r"(?i)was not found in this key vault"), "KeyNotFound"),
    (re.compile(r"(?i)purge protection"), "KeyVaultPurgeProtectionNotEnabled"),
    (re.compile(r"(?i)soft.?delete"), "KeyVaultSoftDeleteNotEnabled"),
    (re.compile(r"(?i)federated client id can only be set"), "InvalidFederatedClientId"),
    (re.compile(r"(?i)key .*is disabled"), "KeyDisabled"),
    (re.compile(r"(?i)key .*(?:has|is) expired"), "KeyExpired"),
    (re.compile(r"(?i)key type .*not supported"), "KeyTypeNotSupported"),
    (re.compile(r"(?i)key size .*not supported"), "KeySizeNotSupported"),
    (re.compile(r"(?i)must be in the same region"), "KeyVaultRegionMismatch"),
)

# The worker's own credential is broken: retrying does not help (wrong secret, unknown tenant...).
_BAD_CREDENTIAL = re.compile(r"AADSTS(7000215|700016|7000229|90002|500011|7000222|700024|50034)\b")

# Codes that mean "Azure had a problem, try again", whatever the HTTP status: a failed async
# operation reports them with status 200. ARM's RPC lists InternalServerError/ServiceUnavailable;
# DiskRP and CRP report InternalExecutionError/InternalOperationError/OperationPreempted.
_TRANSIENT_CODES = frozenset(
    code.lower()
    for code in (
        "InternalError",
        "InternalServerError",
        "InternalExecutionError",
        "InternalOperationError",
        "ServiceUnavailable",
        "ServerTimeout",
        "GatewayTimeout",
        "OperationPreempted",
        "RetryableError",
        "TooManyRequests",
        "SubscriptionRequestsThrottled",
    )
)

# 400 codes that mean the request we built was malformed: a bug or bad input, never transient.
_BAD_INPUT_CODES = frozenset(
    code.lower()
    for code in (
        "InvalidParameter",
        "InvalidResourceName",
        "InvalidRequestContent",
        "InvalidRequestFormat",
        "LinkedInvalidPropertyId",
        "MissingApiVersionParameter",
        "InvalidApiVersionParameter",
        "Request_BadRequest",
        "BadRequest",
    )
)
_TRANSIENT_AUTH_CODES = frozenset({"expiredauthenticationtoken"})


@dataclass(frozen=True)
class AzureFailure:
    """What an SDK exception says, independent of which SDK raised it."""

    status: int | None
    code: str
    message: str
    request_id: str | None
    retry_after: timedelta | None


def classify(error: BaseException, operation: str) -> ApplicationError | None:
    """The ApplicationError for an SDK exception, or None when it is not an Azure/Graph error."""
    if isinstance(error, ApplicationError):
        return error
    if isinstance(error, ClientAuthenticationError) and error.status_code is None:
        return _credential_error(error, operation)
    if isinstance(error, ClientAuthenticationError) and _BAD_CREDENTIAL.search(str(error)):
        return _credential_error(error, operation)
    failure = _read_failure(error)
    if failure is not None:
        return _from_failure(failure, operation)
    if isinstance(error, ServiceRequestError | ServiceResponseError | httpx.TransportError):
        return ApplicationError(
            f"{operation}: connection problem ({type(error).__name__}); retrying",
            type="AzureConnectionError",
        )
    return None


def translate(error: BaseException, operation: str) -> BaseException:
    """The classified ApplicationError for `error`, or `error` itself when it is not Azure's."""
    return classify(error, operation) or error


@dataclass
class CallOutcome:
    """Set by azure_errors: `missing` when a 404 was swallowed because of `missing_ok`."""

    missing: bool = False


@contextmanager
def azure_errors(operation: str, *, missing_ok: bool = False) -> Iterator[CallOutcome]:
    """Re-raise SDK exceptions inside the block as classified ApplicationErrors.

    With `missing_ok`, a 404 ends the block quietly and sets `outcome.missing` (idempotent deletes).
    """
    outcome = CallOutcome()
    try:
        yield outcome
    except Exception as error:
        if missing_ok and status_of(error) == 404:
            outcome.missing = True
            return
        translated = translate(error, operation)
        if translated is error:
            raise
        raise translated from None


def status_of(error: BaseException) -> int | None:
    """The HTTP status of an ARM or Graph error, else None."""
    if isinstance(error, HttpResponseError):
        return error.status_code
    if isinstance(error, APIError):
        return error.response_status_code
    return None


def error_code_of(error: BaseException) -> str | None:
    failure = _read_failure(error)
    return failure.code if failure else None


def customer_issue_for(code: str, message: str) -> CustomerSetupIssue | None:
    """The customer-side issue an Azure error code/message names, or None if it is not one."""
    failure = AzureFailure(None, code, _clean(message), None, None)
    rule = _rule_for(failure)
    if rule is None or rule.side != "customer":
        return None
    return CustomerSetupIssue(code=rule.code, message=failure.message, fix=_fix(rule, failure))


def _fix(rule: TrustChainRule, failure: AzureFailure) -> str:
    """The rule's fix; access to a Managed HSM key is granted with the HSM's own role."""
    if rule.code == "KeyVaultAccessForbidden" and _MANAGED_HSM_HOST.search(failure.message):
        return _HSM_ACCESS_FIX
    return rule.fix


def customer_setup_error(issue: CustomerSetupIssue) -> ApplicationError:
    """The non-retryable CUSTOMER_SETUP error the workflow routes back to the customer."""
    return ApplicationError(
        f"{issue.code}: {issue.message}",
        issue.model_dump(),
        type=ErrorType.CUSTOMER_SETUP,
        non_retryable=True,
    )


def _credential_error(error: ClientAuthenticationError, operation: str) -> ApplicationError:
    message = _clean(str(error.message or error))
    if _BAD_CREDENTIAL.search(message):
        return ApplicationError(
            f"{operation}: the worker's own Azure credential was refused ({message}); fix "
            "AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET or the workload identity",
            type=ErrorType.AZURE_REQUEST_REJECTED,
            non_retryable=True,
        )
    return ApplicationError(
        f"{operation}: could not get a token for the worker ({message}); retrying",
        type="AzureAuthenticationError",
    )


def _read_failure(error: BaseException) -> AzureFailure | None:
    if isinstance(error, HttpResponseError):
        odata = error.error
        code = (odata.code if odata else None) or _code_from_body(error) or ""
        message = (odata.message if odata else None) or error.reason or str(error.message or "")
        response: Any = error.response
        headers = response.headers if response is not None else {}
        return AzureFailure(
            status=error.status_code,
            code=code,
            message=_clean(message),
            request_id=headers.get("x-ms-request-id"),
            retry_after=_retry_after(headers),
        )
    if isinstance(error, APIError):
        main = getattr(error, "error", None)
        headers = error.response_headers or {}
        return AzureFailure(
            status=error.response_status_code,
            code=str(getattr(main, "code", None) or ""),
            message=_clean(str(getattr(main, "message", None) or error.message or "")),
            request_id=_header(headers, "request-id") or _header(headers, "x-ms-request-id"),
            retry_after=_retry_after(headers),
        )
    return None


def _code_from_body(error: HttpResponseError) -> str | None:
    try:
        response: Any = error.response
        body = response.json() if response is not None else None
    except Exception:  # a non-JSON body simply has no code
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code") or "") or None
    return None


def _since_scheduled() -> timedelta:
    """Time since this activity was first scheduled, over all its attempts (zero outside one)."""
    if not activity.in_activity():
        return timedelta(0)
    return datetime.now(UTC) - activity.info().scheduled_time


def _fic_propagating(
    failure: AzureFailure, operation: str, rule: TrustChainRule
) -> ApplicationError:
    summary = _summary(failure)
    waited = _since_scheduled()
    if waited < FIC_PROPAGATION_WINDOW:
        return ApplicationError(
            f"{operation}: Entra has not matched the federated credential yet ({summary}); it "
            f"can take minutes to replicate, retrying for up to "
            f"{duration_words(FIC_PROPAGATION_WINDOW)}",
            type=FIC_PROPAGATING,
            next_retry_delay=FIC_PROPAGATION_DELAY,
        )
    return ApplicationError(
        f"{operation}: the federated credential still does not match "
        f"{duration_words(waited)} after it was first requested: {summary}. {rule.fix}",
        {"code": rule.code, "fix": rule.fix},
        type=ErrorType.AZURE_REQUEST_REJECTED,
        non_retryable=True,
    )


def _unrecognized(failure: AzureFailure, operation: str) -> ApplicationError:
    """Azure said no with a code nobody mapped: the raw (redacted) words go to the customer."""
    return ApplicationError(
        f"{operation} was rejected by Azure with an unrecognized error: {_summary(failure)}",
        {
            "code": failure.code,
            "message": failure.message,
            "status": failure.status,
            "request_id": failure.request_id,
            "operation": operation,
        },
        type=UNRECOGNIZED_REJECTION,
        non_retryable=True,
    )


def _from_failure(failure: AzureFailure, operation: str) -> ApplicationError:
    rule = _rule_for(failure)
    summary = _summary(failure)
    if rule is not None and rule.code == "FederatedCredentialMismatch":
        return _fic_propagating(failure, operation, rule)
    if rule is not None and rule.side == "customer":
        return customer_setup_error(
            CustomerSetupIssue(code=rule.code, message=failure.message, fix=_fix(rule, failure))
        )
    if rule is not None:
        return ApplicationError(
            f"{operation} was refused by the ISV-side trust chain: {summary}. {rule.fix}",
            {"code": rule.code, "fix": rule.fix},
            type=ErrorType.AZURE_REQUEST_REJECTED,
            non_retryable=True,
        )
    if (missing := _missing_permission(failure, operation)) is not None:
        return missing
    status, code = failure.status, failure.code.lower()
    if status == 429:
        delay = failure.retry_after or DEFAULT_THROTTLE_DELAY
        return ApplicationError(
            f"{operation} was throttled: {summary}; retrying after {delay.total_seconds():g}s",
            type=ErrorType.THROTTLED,
            next_retry_delay=delay,
        )
    if code in _TRANSIENT_CODES or (status is not None and status >= 500):
        return ApplicationError(
            f"{operation} failed: {summary}; retrying", type="AzureServiceError"
        )
    if status in (401, 403) and code not in _TRANSIENT_AUTH_CODES:
        return ApplicationError(
            f"{operation}: the worker's identity in the ISV tenant was refused: {summary}; "
            "grant it the roles in deploy/isv-access.json (README, Running against real Azure)",
            type=ErrorType.AZURE_REQUEST_REJECTED,
            non_retryable=True,
        )
    if status in (200, 400) and code in _BAD_INPUT_CODES:
        return ApplicationError(
            f"{operation} was rejected as invalid: {summary}",
            type=ErrorType.INVALID_REQUEST,
            non_retryable=True,
        )
    if status in (200, 400, None):
        return _unrecognized(failure, operation)
    if status is not None and 400 <= status < 500 and status not in (401, 408, 409):
        return ApplicationError(
            f"{operation} was rejected: {summary}",
            type=ErrorType.AZURE_REQUEST_REJECTED,
            non_retryable=True,
        )
    return ApplicationError(f"{operation} failed: {summary}; retrying", type="AzureServiceError")


# --- the worker's own permissions (deploy/isv-access.json) -------------------------------------
# ARM names the missing action in its text ("...perform action 'X' over scope..."; a linked one
# after "however"); Graph does not name the permission, so the fix names the one we need.
_PERMISSION_CODES = frozenset(
    {"authorizationfailed", "linkedauthorizationfailed", "authorization_requestdenied"}
)
_ACTION = re.compile(r"perform action(?:\(s\))? '([^']+)'")


def _missing_permission(failure: AzureFailure, operation: str) -> ApplicationError | None:
    code = failure.code.lower()
    if failure.status != 403 or code not in _PERMISSION_CODES:
        return None
    access = isv_access()
    if code == "authorization_requestdenied":
        missing = list(access.graph_permissions)
        fix = access.graph_fix()
    else:
        text = failure.message
        if code == "linkedauthorizationfailed" and "however" in text:
            text = text.split("however", 1)[1]
        found = _ACTION.search(text)
        missing = [a.strip() for a in found.group(1).split(",")] if found else []
        fix = "; ".join(access.fix_for(a) for a in missing) or (
            "grant the worker's identity the roles in deploy/isv-access.json"
        )
    named = ", ".join(f"'{m}'" for m in missing) or "a permission Azure did not name"
    return ApplicationError(
        f"{operation}: the worker's identity in the ISV tenant lacks {named} "
        f"({_summary(failure)}). Fix: {fix}; then retry the onboarding (`starter.py doctor` "
        "checks every permission).",
        {"code": failure.code, "missing": missing, "fix": fix},
        type=ErrorType.AZURE_REQUEST_REJECTED,
        non_retryable=True,
    )


def _rule_for(failure: AzureFailure) -> TrustChainRule | None:
    text = f"{failure.code} {failure.message}"
    for pattern, code in _ENTRA_PATTERNS:
        if pattern.search(text):
            return _RULES_BY_CODE[code.lower()]
    if rule := _RULES_BY_CODE.get(failure.code.lower()):
        return rule
    for pattern, code in _MESSAGE_PATTERNS:
        if pattern.search(text):
            return _RULES_BY_CODE[code.lower()]
    return None


def _summary(failure: AzureFailure) -> str:
    text = f"{failure.code or 'no error code'}: {failure.message or 'no message'}"
    status = f"HTTP {failure.status}" if failure.status else "no HTTP status"
    if failure.request_id:
        return f"{text} ({status}, request id {failure.request_id})"
    return f"{text} ({status})"


def _clean(message: str) -> str:
    message = redact_text(" ".join(message.split()))
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def _header(headers: Any, name: str) -> str | None:
    try:
        value = headers.get(name)
    except AttributeError:
        return None
    if isinstance(value, set | list | tuple):
        value = next(iter(value), None)
    return str(value) if value is not None else None


_RETRY_AFTER_HEADERS = (
    ("retry-after-ms", 0.001),
    ("x-ms-retry-after-ms", 0.001),
    ("retry-after", 1.0),
)


def _retry_after(headers: Any) -> timedelta | None:
    """Retry-After (seconds) or the millisecond variants ARM and DiskRP send."""
    for name, scale in _RETRY_AFTER_HEADERS:
        raw = _header(headers, name)
        if raw is None:
            continue
        try:
            seconds = float(raw) * scale
        except ValueError:
            continue  # an HTTP date: rare from ARM; fall back to the default delay
        return timedelta(seconds=max(seconds, 0.0))
    return None


__all__ = [
    "FIC_PROPAGATING",
    "FIC_PROPAGATION_WINDOW",
    "UNRECOGNIZED_REJECTION",
    "AzureError",
    "AzureFailure",
    "CallOutcome",
    "azure_errors",
    "classify",
    "customer_issue_for",
    "customer_setup_error",
    "error_code_of",
    "status_of",
    "translate",
]
