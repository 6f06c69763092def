"""Pure spec computations: names, ids, federated credential and verification checks."""

from __future__ import annotations

from harness.fake_onboarding import CUSTOMER_TENANT, ISV_TENANT, KEY_URL, make_request
from models import (
    ApplicationRef,
    EncryptionSetRef,
    ManagedIdentityRef,
    OnboardingRequest,
    parse_request,
)
from models import (
    TestDiskRef as DiskRef,
)
from workflows import plan

APP = ApplicationRef(object_id="obj-1", app_id="app-1", created=True)
IDENTITY = ManagedIdentityRef(
    id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi",
    principal_id="principal-1",
    client_id="client-1",
    tenant_id=ISV_TENANT,
    created=False,
)


def request(**overrides: object) -> OnboardingRequest:
    return parse_request(make_request(**overrides))


def test_shared_mode_uses_the_request_names_for_every_customer() -> None:
    """Shared mode keeps the ISV-wide app and identity names and tags the identity 'shared'."""
    shared = request()
    assert plan.app_unique_name(shared) == "cmk-cross-tenant-app"
    assert plan.identity_name(shared) == "cmk-cross-tenant-identity"
    assert plan.managed_identity_spec(shared, "wf").tags == {"cmk-onboarding": "shared"}


def test_isolated_mode_suffixes_names_with_the_tenant_within_limits() -> None:
    """Isolated names end with the customer tenant id and stay within Azure's name limits."""
    isolated = request(
        policy={"identity_mode": "isolated"}, identity_name="i" * 128, app_unique_name="a" * 120
    )
    assert plan.identity_name(isolated).endswith("-" + CUSTOMER_TENANT)
    assert len(plan.identity_name(isolated)) == 128
    assert len(plan.app_unique_name(isolated)) == 120
    assert plan.managed_identity_spec(isolated, "wf").tags == {"cmk-onboarding": "wf"}
    assert plan.identity_id(isolated).endswith(
        "/userAssignedIdentities/" + plan.identity_name(isolated)
    )


def test_federated_credential_trusts_the_identity_from_the_isv_tenant() -> None:
    """The FIC issuer is the ISV tenant's v2.0 authority and its subject the identity principal."""
    fic = plan.federated_credential_spec(request(identity_name="x" * 128), APP, IDENTITY)
    assert fic.issuer == f"https://login.microsoftonline.com/{ISV_TENANT}/v2.0"
    assert fic.subject == "principal-1"
    assert fic.app_object_id == "obj-1"
    assert fic.audiences == ("api://AzureADTokenExchange",)
    assert fic.name.endswith("-fic") and len(fic.name) <= 120


def test_test_disk_name_fits_the_disk_name_limit() -> None:
    """The verification disk is '<des>-verify', trimmed to 80 characters."""
    assert plan.test_disk_name(request(des_name="des1")) == "des1-verify"
    long_name = plan.test_disk_name(request(des_name="d" * 80))
    assert len(long_name) == 80 and long_name.endswith("-verify")


def _verified(spec_key: str = KEY_URL, **changes: object) -> list[str]:
    req = request()
    spec = plan.encryption_set_spec(req, "wf", APP, IDENTITY, spec_key)
    des = EncryptionSetRef(
        id=plan.encryption_set_id(req),
        provisioning_state="Succeeded",
        key_url=KEY_URL + "/0123456789abcdef0123456789abcdef",
        federated_client_id="APP-1",
        identity_ids=(IDENTITY.id.upper(),),
        encryption_type=req.encryption_type,
    )
    disk = DiskRef(id="disk", encryption_type=req.encryption_type, encryption_set_id=des.id.lower())
    des = des.model_copy(
        update={k: v for k, v in changes.items() if k in EncryptionSetRef.model_fields}
    )
    disk = disk.model_copy(update={k: v for k, v in changes.items() if k in {"encryption_set_id"}})
    return plan.verification_problems(spec, des, disk)


def test_verification_accepts_matching_resources_case_insensitively() -> None:
    """A versionless key URL matches the versioned key the DES reports; ids ignore case."""
    assert _verified() == []


def test_verification_names_each_mismatch() -> None:
    """Every mismatch between what we asked for and what Azure reports is named."""
    assert "not 'Succeeded'" in _verified(provisioning_state="Failed")[0]
    assert "federatedClientId" in _verified(federated_client_id="other")[0]
    assert (
        "key is"
        in _verified(
            key_url="https://other.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef"
        )[0]
    )
    assert "identity" in _verified(identity_ids=("/other",))[0]
    assert "autoKeyRotationError" in _verified(auto_key_rotation_error="KeyDisabled")[0]
    assert "test disk uses" in _verified(encryption_set_id="/other")[0]
    assert "key is" in _verified(spec_key=KEY_URL + "2")[0]
