"""ISV identity activities (Graph app, FIC, managed identity): idempotency, races, lost writes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from emulator.control import FaultRule, IsvTenant
from emulator.runner import RunningEmulator
from models import ActivityName, ErrorType, ResourceRef
from tests.activities.conftest import (
    Activities,
    application_spec,
    build_isv_identity,
    credential_spec,
    identity_spec,
)


async def _applications(emulator: RunningEmulator, isv: IsvTenant, unique_name: str) -> list[Any]:
    tenant = (await emulator.control.snapshot())["tenants"][isv.tenant_id]
    return [a for a in tenant["applications"].values() if a.get("uniqueName") == unique_name]


async def _identities(emulator: RunningEmulator, isv: IsvTenant) -> list[str]:
    resources = (await emulator.control.snapshot())["resources"]
    return [
        rid
        for rid in resources
        if isv.subscription_id in rid.lower() and "userassignedidentities" in rid.lower()
    ]


async def _retry_until_done(
    acts: Activities, name: ActivityName, arg: Any, attempts: int = 3
) -> Any:
    """What Temporal does with a retryable failure: run the activity again."""
    for attempt in range(1, attempts + 1):
        try:
            return await acts.run(name, arg)
        except ApplicationError as error:
            assert not error.non_retryable, error
            if attempt == attempts:
                raise
        except Exception:  # an unclassified transport error is retryable too
            if attempt == attempts:
                raise


async def test_identity_chain_is_created_once_and_reused(
    acts: Activities, isv: IsvTenant, emulator: RunningEmulator
) -> None:
    """Running the three ensure activities twice yields the same ids and creates nothing new."""
    first = await build_isv_identity(acts, isv)
    assert first.app.created and first.identity.created and first.credential.created
    second = await build_isv_identity(acts, isv)
    assert second.app == first.app.model_copy(update={"created": False})
    assert second.identity == first.identity.model_copy(update={"created": False})
    assert second.credential == first.credential.model_copy(update={"created": False})
    apps = await _applications(emulator, isv, application_spec(isv).unique_name)
    assert len(apps) == 1
    assert apps[0]["signInAudience"] == "AzureADMultipleOrgs"
    assert len(apps[0]["federatedIdentityCredentials"]) == 1
    assert len(await _identities(emulator, isv)) == 1


async def test_concurrent_ensure_application_and_credential_create_exactly_one(
    acts: Activities, isv: IsvTenant, emulator: RunningEmulator
) -> None:
    """Ten concurrent onboardings racing on the shared app and FIC end with one of each."""
    spec = application_spec(isv)
    apps = await asyncio.gather(
        *(acts.run(ActivityName.ENSURE_APPLICATION, spec) for _ in range(10))
    )
    assert len({(a.object_id, a.app_id) for a in apps}) == 1
    identity = await acts.run(ActivityName.ENSURE_MANAGED_IDENTITY, identity_spec(isv))
    fic = credential_spec(isv, apps[0], identity.principal_id)
    credentials = await asyncio.gather(
        *(acts.run(ActivityName.ENSURE_FEDERATED_CREDENTIAL, fic) for _ in range(10))
    )
    assert len({c.id for c in credentials}) == 1
    stored = await _applications(emulator, isv, spec.unique_name)
    assert len(stored) == 1
    assert len(stored[0]["federatedIdentityCredentials"]) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", r"/v1\.0/applications\(uniqueName="),
        ("POST", r"/federatedIdentityCredentials$"),
        ("PUT", r"/userAssignedIdentities/"),
    ],
)
async def test_lost_response_then_retry_creates_no_duplicate(
    acts: Activities, isv: IsvTenant, emulator: RunningEmulator, method: str, path: str
) -> None:
    """A write committed but whose response was lost is found, not repeated, on retry."""
    await emulator.control.set_faults(
        [
            FaultRule(
                method=method, path_regex=path, kind="lost_response", probability=1.0, max_count=1
            )
        ]
    )
    app = await _retry_until_done(acts, ActivityName.ENSURE_APPLICATION, application_spec(isv))
    identity = await _retry_until_done(
        acts, ActivityName.ENSURE_MANAGED_IDENTITY, identity_spec(isv)
    )
    await _retry_until_done(
        acts,
        ActivityName.ENSURE_FEDERATED_CREDENTIAL,
        credential_spec(isv, app, identity.principal_id),
    )
    stored = await _applications(emulator, isv, application_spec(isv).unique_name)
    assert len(stored) == 1
    assert len(stored[0]["federatedIdentityCredentials"]) == 1
    assert len(await _identities(emulator, isv)) == 1
    fired = [r for r in await emulator.control.requests() if r.fault == "lost_response"]
    assert len(fired) == 1


async def test_conflicting_federated_credential_is_rejected(
    acts: Activities, isv: IsvTenant
) -> None:
    """A FIC with our name but another subject is a non-retryable conflict naming both."""
    chain = await build_isv_identity(acts, isv)
    other = credential_spec(isv, chain.app, "00000000-0000-0000-0000-000000000001")
    with pytest.raises(ApplicationError) as raised:
        await acts.run(ActivityName.ENSURE_FEDERATED_CREDENTIAL, other)
    assert raised.value.type == ErrorType.AZURE_REQUEST_REJECTED
    assert raised.value.non_retryable
    assert "cmk-fic" in raised.value.message and chain.identity.principal_id in raised.value.message


async def test_deletes_are_idempotent(
    acts: Activities, isv: IsvTenant, emulator: RunningEmulator
) -> None:
    """Deleting the app and the identity twice succeeds and leaves neither behind."""
    chain = await build_isv_identity(acts, isv)
    for _ in range(2):
        await acts.run(ActivityName.DELETE_APPLICATION, ResourceRef(id=chain.app.object_id))
        await acts.run(ActivityName.DELETE_MANAGED_IDENTITY, ResourceRef(id=chain.identity.id))
    assert await _applications(emulator, isv, application_spec(isv).unique_name) == []
    assert await _identities(emulator, isv) == []


async def test_delete_with_a_malformed_id_is_invalid_request(acts: Activities) -> None:
    """A resource id of the wrong type fails at once, naming the expected shape."""
    with pytest.raises(ApplicationError) as raised:
        await acts.run(ActivityName.DELETE_MANAGED_IDENTITY, ResourceRef(id="/not/an/arm/id"))
    assert raised.value.type == ErrorType.INVALID_REQUEST
    assert "userAssignedIdentities" in raised.value.message
