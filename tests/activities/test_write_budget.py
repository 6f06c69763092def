"""Activities spend the subscription's ARM write budget only when something must change."""

from __future__ import annotations

import dataclasses

import pytest
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from emulator.control import IsvTenant
from emulator.runner import RunningEmulator
from harness.polling import assert_eventually
from models import ActivityName, ErrorType, FeatureRef
from tests.activities.conftest import Activities, identity_spec


async def _calls(emulator: RunningEmulator) -> list[str]:
    return [
        f"{r.method} {r.resource_type}"
        for r in await emulator.control.requests()
        if not r.resource_type.startswith("entra/")
    ]


async def test_ensure_feature_registered_reads_once_when_already_registered(
    acts: Activities, isv: IsvTenant, emulator: RunningEmulator
) -> None:
    """Registered at the first look: one read, no register, no provider re-registration."""
    ref = FeatureRef(subscription_id=isv.subscription_id)
    await emulator.control.set_feature_delay(0)
    await acts.run(ActivityName.ENSURE_FEATURE_REGISTERED, ref)
    await emulator.control.reset_requests()
    state = await acts.run(ActivityName.ENSURE_FEATURE_REGISTERED, ref)
    assert state.state == "Registered"
    assert await _calls(emulator) == ["GET Microsoft.Features/features"]


async def test_ensure_feature_registered_registers_reads_back_and_reregisters_provider(
    acts: Activities, isv: IsvTenant, emulator: RunningEmulator
) -> None:
    """A feature that settles at once is registered and propagated in a single attempt."""
    await emulator.control.set_feature_delay(0)
    state = await acts.run(
        ActivityName.ENSURE_FEATURE_REGISTERED, FeatureRef(subscription_id=isv.subscription_id)
    )
    assert state.state == "Registered"
    assert await _calls(emulator) == [
        "GET Microsoft.Features/features",
        "POST Microsoft.Features/features",
        "GET Microsoft.Features/features",
        "POST Microsoft.Compute/register",
    ]


async def test_ensure_feature_registered_polls_by_retries_without_registering_again(
    acts: Activities, isv: IsvTenant, emulator: RunningEmulator
) -> None:
    """Still Registering: a benign NOT_READY; later attempts only read, then re-register the
    provider once the feature is Registered."""
    ref = FeatureRef(subscription_id=isv.subscription_id)
    with pytest.raises(ApplicationError) as raised:
        await acts.run(ActivityName.ENSURE_FEATURE_REGISTERED, ref)
    assert raised.value.type == ErrorType.NOT_READY
    assert raised.value.category == ApplicationErrorCategory.BENIGN
    environment = acts.environment
    environment.info = dataclasses.replace(environment.info, attempt=2)

    async def registered() -> bool:
        try:
            await acts.run(ActivityName.ENSURE_FEATURE_REGISTERED, ref)
        except ApplicationError:
            return False
        return True

    await assert_eventually(registered)
    calls = await _calls(emulator)
    assert calls.count("POST Microsoft.Features/features") == 1
    assert calls[-1] == "POST Microsoft.Compute/register"


async def test_ensure_managed_identity_writes_only_when_missing(
    acts: Activities, isv: IsvTenant, emulator: RunningEmulator
) -> None:
    """The shared identity is PUT once; later onboardings read it (reads are 10x cheaper)."""
    first = await acts.run(ActivityName.ENSURE_MANAGED_IDENTITY, identity_spec(isv))
    assert first.created
    await emulator.control.reset_requests()
    again = await acts.run(ActivityName.ENSURE_MANAGED_IDENTITY, identity_spec(isv))
    assert (again.created, again.principal_id) == (False, first.principal_id)
    assert await _calls(emulator) == ["GET Microsoft.ManagedIdentity/userAssignedIdentities"]
