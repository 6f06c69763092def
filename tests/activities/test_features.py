"""Feature and provider registration activities against the emulator."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from emulator.control import FaultRule, IsvTenant
from harness.polling import assert_eventually
from models import ActivityName, ErrorType, FeatureRef, ProviderRef
from tests.activities.conftest import Activities


async def test_register_then_wait_until_registered(acts: Activities, isv: IsvTenant) -> None:
    """Registering moves the feature to Registering; polling reports NOT_READY until Registered."""
    ref = FeatureRef(subscription_id=isv.subscription_id)
    before = await acts.run(ActivityName.GET_FEATURE, ref)
    assert before.state == "NotRegistered"
    registering = await acts.run(ActivityName.REGISTER_FEATURE, ref)
    assert registering.state in ("Registering", "Pending")
    with pytest.raises(ApplicationError) as raised:
        await acts.run(ActivityName.WAIT_FEATURE_REGISTERED, ref)
    assert raised.value.type == ErrorType.NOT_READY
    assert raised.value.category == ApplicationErrorCategory.BENIGN

    async def registered() -> bool:
        try:
            return (await acts.run(ActivityName.WAIT_FEATURE_REGISTERED, ref)).state == "Registered"
        except ApplicationError:
            return False

    await assert_eventually(registered)


async def test_register_feature_is_a_no_op_once_registered(
    acts: Activities, isv: IsvTenant, emulator
) -> None:
    """A Registered feature is not POSTed again: no write against the ARM budget."""
    ref = FeatureRef(subscription_id=isv.subscription_id)
    await emulator.control.set_feature_delay(0)
    await acts.run(ActivityName.REGISTER_FEATURE, ref)

    async def registered() -> bool:
        return (await acts.run(ActivityName.GET_FEATURE, ref)).state == "Registered"

    await assert_eventually(registered)
    await emulator.control.reset_requests()
    again = await acts.run(ActivityName.REGISTER_FEATURE, ref)
    assert again.state == "Registered"
    methods = [r.method for r in await emulator.control.requests()]
    assert "POST" not in methods


async def test_register_provider_returns_its_state(acts: Activities, isv: IsvTenant) -> None:
    """Re-registering Microsoft.Compute returns the provider's registration state."""
    state = await acts.run(
        ActivityName.REGISTER_PROVIDER, ProviderRef(subscription_id=isv.subscription_id)
    )
    assert state in ("Registered", "Registering")


@pytest.mark.parametrize(
    "name", [ActivityName.ENSURE_FEATURE_REGISTERED, ActivityName.REGISTER_FEATURE]
)
async def test_feature_unknown_to_the_subscription_is_not_required(
    acts: Activities, isv: IsvTenant, emulator, name: ActivityName
) -> None:
    """A feature read answering 404 means no registration step exists: NotRequired, no POST."""
    feature_get = FaultRule(
        method="GET", path_regex="features/EncryptionAtRestWithCrossTenantKey", status=404
    )
    await emulator.control.set_faults([feature_get])
    try:
        await emulator.control.reset_requests()
        state = await acts.run(name, FeatureRef(subscription_id=isv.subscription_id))
        paths = [r.path for r in await emulator.control.requests()]
    finally:
        await emulator.control.clear_faults()
    assert state.state == "NotRequired"
    assert not [p for p in paths if p.endswith("/register")], paths
