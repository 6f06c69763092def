"""Names that the workflow, the activities, the worker and the clients agree on.

One place for the workflow type, message names, activity names, error types and stages (search
attribute keys: models.search_attributes). Renaming one breaks running workflows and clients.
"""

from __future__ import annotations

from enum import StrEnum

WORKFLOW_TYPE = "CmkOnboarding"
SIGNAL_CUSTOMER_SETUP_COMPLETE = "customer_setup_complete"
UPDATE_SUBMIT_CUSTOMER_SETUP = "submit_customer_setup"
QUERY_STATUS = "status"

FEATURE_NAMESPACE = "Microsoft.Compute"
FEATURE_NAME = "EncryptionAtRestWithCrossTenantKey"
FIC_AUDIENCE = "api://AzureADTokenExchange"
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
# Managed HSM keys use its local RBAC role instead (Learn, "Local RBAC built-in roles for
# Managed HSM").
MANAGED_HSM_CRYPTO_SERVICE_ENCRYPTION_USER = "33413926-3206-4cdd-b39a-83574fe37a17"
# Tag on every per-onboarding resource: the workflow id that created it (or "shared").
OWNER_TAG = "cmk-onboarding"


class ErrorType(StrEnum):
    """`ApplicationError.type` values the workflow, activities and CLI agree on."""

    INVALID_REQUEST = "InvalidRequest"
    CUSTOMER_SETUP = "CustomerSetupError"
    THROTTLED = "AzureThrottled"
    NOT_READY = "NotReadyYet"
    FEATURE_REGISTRATION_TIMEOUT = "FeatureRegistrationTimeout"
    CUSTOMER_DEADLINE_EXCEEDED = "CustomerDeadlineExceeded"
    CUSTOMER_ATTEMPTS_EXHAUSTED = "CustomerAttemptsExhausted"
    AZURE_REQUEST_REJECTED = "AzureRequestRejected"
    VERIFICATION_FAILED = "VerificationFailed"
    RESOURCE_NOT_OWNED = "ResourceNotOwned"
    SUBMISSION_REJECTED = "SubmissionRejected"
    # Azure refused with a code nobody mapped: back to the customer with Azure's words, and the
    # ISV operator is flagged (OnboardingStatus.operator_attention).
    UNRECOGNIZED_REJECTION = "UnrecognizedAzureRejection"
    # AADSTS70021 right after the federated credential was written: retryable for a bounded window
    # (activities/errors.py FIC_PROPAGATION_WINDOW), then an ISV-side rejection.
    FIC_PROPAGATING = "FederatedCredentialPropagating"
    # A new run with the id of a completed onboarding (`temporal workflow start`, another reuse
    # policy): refused before anything is sent or written.
    ALREADY_COMPLETED = "OnboardingAlreadyCompleted"


class ActivityName(StrEnum):
    """Registered activity names: the real activities and the test fakes both use these."""

    GET_FEATURE = "get_feature"
    EARLIER_COMPLETED_RUN = "earlier_completed_run"
    REGISTER_FEATURE = "register_feature"
    WAIT_FEATURE_REGISTERED = "wait_feature_registered"
    ENSURE_FEATURE_REGISTERED = "ensure_feature_registered"
    REGISTER_PROVIDER = "register_provider"
    ENSURE_APPLICATION = "ensure_application"
    ENSURE_MANAGED_IDENTITY = "ensure_managed_identity"
    ENSURE_FEDERATED_CREDENTIAL = "ensure_federated_credential"
    CREATE_ENCRYPTION_SET = "create_encryption_set"
    VERIFY_ENCRYPTION_SET = "verify_encryption_set"
    CREATE_TEST_DISK = "create_test_disk"
    DELETE_TEST_DISK = "delete_test_disk"
    DELETE_ENCRYPTION_SET = "delete_encryption_set"
    DELETE_MANAGED_IDENTITY = "delete_managed_identity"
    DELETE_APPLICATION = "delete_application"
    NOTIFY_CUSTOMER = "notify_customer"
    CHECK_KEY_VAULT_TENANT = "check_key_vault_tenant"
    LOAD_POLICY = "load_policy"


class Stage(StrEnum):
    VALIDATING = "validating"
    REGISTERING_FEATURE = "registering-feature"
    ENSURING_IDENTITY = "ensuring-identity"
    AWAITING_CUSTOMER = "awaiting-customer"
    CREATING_ENCRYPTION_SET = "creating-encryption-set"
    VERIFYING = "verifying"
    COMPENSATING = "compensating"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STAGES = frozenset({Stage.COMPLETED, Stage.FAILED, Stage.CANCELLED})
