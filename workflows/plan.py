"""Pure functions that turn an onboarding request into the specs the activities receive."""

from __future__ import annotations

from models import (
    OWNER_TAG,
    ApplicationRef,
    ApplicationSpec,
    EncryptionSetRef,
    EncryptionSetSpec,
    FederatedCredentialSpec,
    ManagedIdentityRef,
    ManagedIdentitySpec,
    OnboardingRequest,
    TestDiskRef,
    TestDiskSpec,
)

TAG_KEY = OWNER_TAG
SHARED_TAG_VALUE = "shared"
_IDENTITY_NAME_MAX = 128
_APP_UNIQUE_NAME_MAX = 120
_FIC_NAME_MAX = 120
_DISK_NAME_MAX = 80
_FIC_SUFFIX = "-fic"
_TEST_DISK_SUFFIX = "-verify"


def is_isolated(request: OnboardingRequest) -> bool:
    return request.policy.identity_mode == "isolated"


def _per_customer(base: str, request: OnboardingRequest, limit: int) -> str:
    """Suffix `base` with the full tenant id, trimming the base so the name fits `limit`."""
    if not is_isolated(request):
        return base
    suffix = f"-{request.customer_tenant_id}"
    return base[: limit - len(suffix)] + suffix


def identity_name(request: OnboardingRequest) -> str:
    return _per_customer(request.identity_name, request, _IDENTITY_NAME_MAX)


def app_unique_name(request: OnboardingRequest) -> str:
    return _per_customer(request.app_unique_name, request, _APP_UNIQUE_NAME_MAX)


def _resource_group_id(request: OnboardingRequest) -> str:
    return f"/subscriptions/{request.subscription_id}/resourceGroups/{request.resource_group}"


def identity_id(request: OnboardingRequest) -> str:
    return (
        f"{_resource_group_id(request)}/providers/Microsoft.ManagedIdentity"
        f"/userAssignedIdentities/{identity_name(request)}"
    )


def encryption_set_id(request: OnboardingRequest) -> str:
    return (
        f"{_resource_group_id(request)}/providers/Microsoft.Compute"
        f"/diskEncryptionSets/{request.des_name}"
    )


def test_disk_name(request: OnboardingRequest) -> str:
    return request.des_name[: _DISK_NAME_MAX - len(_TEST_DISK_SUFFIX)] + _TEST_DISK_SUFFIX


def test_disk_id(request: OnboardingRequest) -> str:
    disks = f"{_resource_group_id(request)}/providers/Microsoft.Compute/disks"
    return f"{disks}/{test_disk_name(request)}"


def onboarding_tags(workflow_id: str) -> dict[str, str]:
    return {TAG_KEY: workflow_id}


def application_spec(request: OnboardingRequest) -> ApplicationSpec:
    unique_name = app_unique_name(request)
    return ApplicationSpec(unique_name=unique_name, display_name=unique_name)


def managed_identity_spec(request: OnboardingRequest, workflow_id: str) -> ManagedIdentitySpec:
    # A shared identity serves many onboardings, so no single workflow id may claim it.
    tags = onboarding_tags(workflow_id) if is_isolated(request) else {TAG_KEY: SHARED_TAG_VALUE}
    return ManagedIdentitySpec(
        subscription_id=request.subscription_id,
        resource_group=request.resource_group,
        name=identity_name(request),
        region=request.region,
        tags=tags,
    )


def federated_credential_spec(
    request: OnboardingRequest, app: ApplicationRef, identity: ManagedIdentityRef
) -> FederatedCredentialSpec:
    name = identity_name(request)[: _FIC_NAME_MAX - len(_FIC_SUFFIX)] + _FIC_SUFFIX
    return FederatedCredentialSpec(
        app_object_id=app.object_id,
        name=name,
        issuer=f"https://login.microsoftonline.com/{request.isv_tenant_id}/v2.0",
        subject=identity.principal_id,
    )


def encryption_set_spec(
    request: OnboardingRequest,
    workflow_id: str,
    app: ApplicationRef,
    identity: ManagedIdentityRef,
    key_url: str,
) -> EncryptionSetSpec:
    return EncryptionSetSpec(
        subscription_id=request.subscription_id,
        resource_group=request.resource_group,
        name=request.des_name,
        region=request.region,
        identity_id=identity.id,
        federated_client_id=app.app_id,
        key_url=key_url,
        encryption_type=request.encryption_type,
        rotation_to_latest_key_version_enabled=request.rotation_to_latest_key_version_enabled,
        tags=onboarding_tags(workflow_id),
    )


def test_disk_spec(request: OnboardingRequest, encryption_set: EncryptionSetRef) -> TestDiskSpec:
    return TestDiskSpec(
        subscription_id=request.subscription_id,
        resource_group=request.resource_group,
        name=test_disk_name(request),
        region=request.region,
        sku=request.disk_sku,
        size_gb=request.test_disk_size_gb,
        encryption_set_id=encryption_set.id,
        encryption_type=request.encryption_type,
    )


def _same_key(expected: str, actual: str) -> bool:
    """A versionless key URL matches any version of that key."""
    expected, actual = expected.rstrip("/").lower(), actual.rstrip("/").lower()
    return actual == expected or actual.startswith(expected + "/")


def verification_problems(
    spec: EncryptionSetSpec, encryption_set: EncryptionSetRef, disk: TestDiskRef
) -> list[str]:
    """What the provisioned DES and test disk got wrong compared with what we asked for."""
    problems: list[str] = []
    if encryption_set.provisioning_state != "Succeeded":
        problems.append(f"encryption set is '{encryption_set.provisioning_state}', not 'Succeeded'")
    if encryption_set.federated_client_id.lower() != spec.federated_client_id.lower():
        problems.append(
            f"encryption set federatedClientId is '{encryption_set.federated_client_id}', "
            f"expected '{spec.federated_client_id}'"
        )
    if not _same_key(spec.key_url, encryption_set.key_url):
        problems.append(
            f"encryption set key is '{encryption_set.key_url}', expected '{spec.key_url}'"
        )
    if spec.identity_id.lower() not in {i.lower() for i in encryption_set.identity_ids}:
        problems.append(f"encryption set does not use identity '{spec.identity_id}'")
    if encryption_set.auto_key_rotation_error:
        problems.append(
            f"encryption set reports autoKeyRotationError: {encryption_set.auto_key_rotation_error}"
        )
    if disk.encryption_type != spec.encryption_type:
        problems.append(
            f"test disk encryption type is '{disk.encryption_type}', "
            f"expected '{spec.encryption_type}'"
        )
    if disk.encryption_set_id.lower() != encryption_set.id.lower():
        problems.append(
            f"test disk uses encryption set '{disk.encryption_set_id}', "
            f"expected '{encryption_set.id}'"
        )
    return problems
