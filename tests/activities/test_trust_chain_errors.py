"""Every broken trust-chain link surfaces as the right error type, with a fix for the customer."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import LogNotifier, build_activities
from activities.azure_clients import AzureClients
from activities.errors import FIC_PROPAGATING, UNRECOGNIZED_REJECTION
from emulator.control import CustomerTenant, FaultRule, IsvTenant
from emulator.runner import RunningEmulator
from models import ActivityName, CustomerSetupIssue, ErrorType
from tests.activities.conftest import (
    Activities,
    IsvIdentity,
    application_spec,
    build_isv_identity,
    by_name,
    customer_key,
    disk_spec,
    emulator_settings,
    encryption_set_spec,
    identity_spec,
)

CUSTOMER_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("no-consent", {"consent": False}, "ApplicationNotFoundInCustomerTenant"),
    ("no-role", {"role": False}, "KeyVaultAccessForbidden"),
    ("no-purge-protection", {"purge_protection": False}, "KeyVaultPurgeProtectionNotEnabled"),
    (
        "no-soft-delete",
        {"soft_delete": False, "purge_protection": False},
        "KeyVaultSoftDeleteNotEnabled",
    ),
    ("key-disabled", {"enabled": False}, "KeyDisabled"),
    ("key-type", {"kty": "EC"}, "KeyTypeNotSupported"),
    ("key-size", {"size": 1024}, "KeySizeNotSupported"),
    ("other-region", {"region": "westeurope"}, "KeyVaultRegionMismatch"),
]


@pytest.fixture
async def chain(acts: Activities, isv: IsvTenant) -> IsvIdentity:
    return await build_isv_identity(acts, isv)


def _issue(error: ApplicationError) -> CustomerSetupIssue:
    assert error.type == ErrorType.CUSTOMER_SETUP, error
    assert error.non_retryable
    return CustomerSetupIssue.model_validate(error.details[0])


@pytest.mark.parametrize(
    ("setup", "code"), [(c[1], c[2]) for c in CUSTOMER_CASES], ids=[c[0] for c in CUSTOMER_CASES]
)
async def test_customer_side_failure_is_customer_setup_with_fix(
    acts: Activities,
    isv: IsvTenant,
    customer: CustomerTenant,
    chain: IsvIdentity,
    emulator: RunningEmulator,
    setup: dict[str, Any],
    code: str,
) -> None:
    """Creating the DES over a broken customer link raises CUSTOMER_SETUP naming code and fix."""
    key_url = await customer_key(emulator, customer, chain.app.app_id, **setup)
    spec = encryption_set_spec(isv, chain, key_url)
    with pytest.raises(ApplicationError) as raised:
        await acts.run(ActivityName.CREATE_ENCRYPTION_SET, spec)
    issue = _issue(raised.value)
    assert issue.code == code
    # Azure accepted the PUT before the key check failed: the DES exists and is named.
    assert issue.resource_id is not None
    assert issue.resource_id.lower().endswith(f"/diskencryptionsets/{spec.name.lower()}")
    assert issue.fix.endswith((".", "`.")) and len(issue.fix) > 30
    assert "Bearer" not in raised.value.message
    # The customer reads message and fix: plain words, not the chain's internal numbering.
    assert not re.search(r"\blinks? \d", f"{issue.message} {issue.fix}", re.IGNORECASE), issue


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        # Azure's text cannot tell an unknown vault from a forbidden one: same customer fix path.
        (lambda url: re.sub(r"//[^.]+\.", "//kvnowhere.", url), "KeyVaultAccessForbidden"),
        (lambda url: url.replace("/keys/cmk-key/", "/keys/other-key/"), "KeyNotFound"),
    ],
    ids=["vault", "key"],
)
async def test_unknown_vault_or_key_is_customer_setup(
    acts: Activities,
    isv: IsvTenant,
    customer: CustomerTenant,
    chain: IsvIdentity,
    emulator: RunningEmulator,
    mutate: Any,
    code: str,
) -> None:
    """A key URL pointing nowhere is the customer's to fix: they sent the wrong URL."""
    key_url = mutate(await customer_key(emulator, customer, chain.app.app_id))
    with pytest.raises(ApplicationError) as raised:
        await acts.run(ActivityName.CREATE_ENCRYPTION_SET, encryption_set_spec(isv, chain, key_url))
    assert _issue(raised.value).code == code


async def test_key_disabled_after_creation_fails_the_test_disk(
    acts: Activities,
    isv: IsvTenant,
    customer: CustomerTenant,
    chain: IsvIdentity,
    emulator: RunningEmulator,
) -> None:
    """The test disk re-checks the key: disabling it after DES creation is caught there."""
    key_url = await customer_key(emulator, customer, chain.app.app_id)
    created = await acts.run(
        ActivityName.CREATE_ENCRYPTION_SET, encryption_set_spec(isv, chain, key_url)
    )
    vault = key_url.split("//")[1].split(".")[0]
    await emulator.control.set_key_enabled(customer.tenant_id, vault, "cmk-key", False)
    with pytest.raises(ApplicationError) as raised:
        await acts.run(ActivityName.CREATE_TEST_DISK, disk_spec(isv, created.id))
    assert _issue(raised.value).code == "KeyDisabled"


async def test_missing_federated_credential_is_an_isv_side_rejection(
    acts: Activities, isv: IsvTenant, customer: CustomerTenant, emulator: RunningEmulator
) -> None:
    """Without the FIC, AADSTS70021: retried while Entra may still be replicating a new FIC."""
    app = await acts.run(ActivityName.ENSURE_APPLICATION, application_spec(isv))
    identity = await acts.run(ActivityName.ENSURE_MANAGED_IDENTITY, identity_spec(isv))
    chain = IsvIdentity(app=app, identity=identity, credential=None)  # type: ignore[arg-type]
    key_url = await customer_key(emulator, customer, app.app_id)
    with pytest.raises(ApplicationError) as raised:
        await acts.run(ActivityName.CREATE_ENCRYPTION_SET, encryption_set_spec(isv, chain, key_url))
    assert raised.value.type == FIC_PROPAGATING and not raised.value.non_retryable
    assert "AADSTS70021" in raised.value.message


async def test_wrong_federated_client_id_is_an_isv_side_rejection(
    acts: Activities,
    isv: IsvTenant,
    customer: CustomerTenant,
    chain: IsvIdentity,
    emulator: RunningEmulator,
) -> None:
    """A federatedClientId that is not our multi-tenant app is refused synchronously (400)."""
    key_url = await customer_key(emulator, customer, chain.app.app_id)
    spec = encryption_set_spec(isv, chain, key_url).model_copy(
        update={"federated_client_id": "00000000-0000-0000-0000-0000000000aa"}
    )
    with pytest.raises(ApplicationError) as raised:
        await acts.run(ActivityName.CREATE_ENCRYPTION_SET, spec)
    assert raised.value.type == ErrorType.AZURE_REQUEST_REJECTED
    assert raised.value.non_retryable
    assert "multi-tenant" in raised.value.message


@pytest.mark.parametrize(
    ("method", "path", "run"),
    [
        ("PUT", r"/userAssignedIdentities/", "identity"),
        ("GET", r"/v1\.0/applications\(uniqueName=", "application"),
    ],
)
async def test_throttling_is_throttled_with_retry_after(
    acts: Activities, isv: IsvTenant, emulator: RunningEmulator, method: str, path: str, run: str
) -> None:
    """A 429 is not retried inside the SDK: THROTTLED with next_retry_delay = Retry-After."""
    await emulator.control.set_faults(
        [
            FaultRule(
                method=method,
                path_regex=path,
                kind="throttle",
                probability=1.0,
                retry_after=7,
                max_count=1,
            )
        ]
    )
    with pytest.raises(ApplicationError) as raised:
        if run == "identity":
            await acts.run(ActivityName.ENSURE_MANAGED_IDENTITY, identity_spec(isv))
        else:
            await acts.run(ActivityName.ENSURE_APPLICATION, application_spec(isv))
    assert raised.value.type == ErrorType.THROTTLED
    assert not raised.value.non_retryable
    assert raised.value.next_retry_delay == timedelta(seconds=7)


async def test_server_error_is_plainly_retryable(
    acts: Activities, isv: IsvTenant, emulator: RunningEmulator
) -> None:
    """A 503 fails the attempt as retryable; the next attempt succeeds."""
    await emulator.control.set_faults(
        [
            FaultRule(
                method="PUT",
                path_regex=r"/userAssignedIdentities/",
                kind="error",
                probability=1.0,
                status=503,
                max_count=1,
            )
        ]
    )
    with pytest.raises(ApplicationError) as raised:
        await acts.run(ActivityName.ENSURE_MANAGED_IDENTITY, identity_spec(isv))
    assert not raised.value.non_retryable
    assert raised.value.type not in set(ErrorType)
    assert (await acts.run(ActivityName.ENSURE_MANAGED_IDENTITY, identity_spec(isv))).id


async def test_wrong_worker_secret_is_a_clear_non_retryable_error(
    emulator: RunningEmulator, isv: IsvTenant
) -> None:
    """A bad ISV credential names the settings to fix and never echoes the secret."""
    wrong = dataclasses.replace(
        emulator_settings(emulator, isv), client_secret="not-the-secret-123"
    )
    async with AzureClients(wrong, arm_retries=0) as clients:
        functions = build_activities(clients, LogNotifier())
        acts = Activities(by_name=by_name(functions), environment=ActivityEnvironment())
        with pytest.raises(ApplicationError) as raised:
            await acts.run(ActivityName.ENSURE_MANAGED_IDENTITY, identity_spec(isv))
    assert raised.value.type == ErrorType.AZURE_REQUEST_REJECTED
    assert raised.value.non_retryable
    assert "AZURE_CLIENT_SECRET" in raised.value.message
    assert "not-the-secret-123" not in raised.value.message


@pytest.mark.parametrize("target", ["des", "disk"])
async def test_unknown_code_from_the_async_operation_is_an_unrecognized_rejection(
    acts: Activities,
    isv: IsvTenant,
    customer: CustomerTenant,
    chain: IsvIdentity,
    emulator: RunningEmulator,
    target: str,
) -> None:
    """A DES or test-disk operation that fails with a code nobody mapped (azure-core raises it
    with HTTP 200) is not retried and not CUSTOMER_SETUP: UNRECOGNIZED_REJECTION, raw text kept."""
    key_url = await customer_key(emulator, customer, chain.app.app_id)
    des_spec = encryption_set_spec(isv, chain, key_url)
    regex = "diskEncryptionSets/" if target == "des" else "/disks/"
    if target == "disk":
        created = await acts.run(ActivityName.CREATE_ENCRYPTION_SET, des_spec)
    await emulator.control.fail_operations(
        "DiskServiceNewRefusal", "Refused for a reason added last week.", resource_regex=regex
    )
    with pytest.raises(ApplicationError) as raised:
        if target == "des":
            await acts.run(ActivityName.CREATE_ENCRYPTION_SET, des_spec)
        else:
            await acts.run(ActivityName.CREATE_TEST_DISK, disk_spec(isv, created.id))
    assert raised.value.type == UNRECOGNIZED_REJECTION and raised.value.non_retryable
    details = raised.value.details[0]
    assert details["code"] == "DiskServiceNewRefusal" and details["status"] == 200
    assert details["message"] == "Refused for a reason added last week."


async def test_transient_code_from_the_async_operation_is_retried(
    acts: Activities,
    isv: IsvTenant,
    customer: CustomerTenant,
    chain: IsvIdentity,
    emulator: RunningEmulator,
) -> None:
    """InternalExecutionError inside a failed poll (HTTP 200) is transient; the retry succeeds."""
    key_url = await customer_key(emulator, customer, chain.app.app_id)
    spec = encryption_set_spec(isv, chain, key_url)
    await emulator.control.fail_operations("InternalExecutionError", "Try again later.")
    with pytest.raises(ApplicationError) as raised:
        await acts.run(ActivityName.CREATE_ENCRYPTION_SET, spec)
    assert raised.value.type == "AzureServiceError" and not raised.value.non_retryable
    created = await acts.run(ActivityName.CREATE_ENCRYPTION_SET, spec)
    assert created.provisioning_state == "Succeeded"
