"""A disk encryption set belongs to the onboarding that created it: no re-key, no foreign delete."""

from __future__ import annotations

import dataclasses

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import LogNotifier, build_activities
from activities.azure_clients import AzureClients
from emulator.control import CustomerTenant, IsvTenant
from emulator.runner import RunningEmulator
from models import OWNER_TAG, ActivityName, ErrorType, ResourceRef
from tests.activities.conftest import (
    Activities,
    build_isv_identity,
    by_name,
    customer_key,
    encryption_set_spec,
)

WORKFLOW_A = "cmk-onboarding-customer-a-des-1"
WORKFLOW_B = "cmk-onboarding-customer-b-des-1"


def _as_workflow(clients: AzureClients, workflow_id: str) -> Activities:
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(environment.info, workflow_id=workflow_id)
    functions = build_activities(clients, LogNotifier(), poll_seconds=0.05)
    return Activities(by_name=by_name(functions), environment=environment)


async def _des(emulator: RunningEmulator, des_id: str) -> dict | None:
    resources = (await emulator.control.snapshot())["resources"]
    return next((v for k, v in resources.items() if k.lower() == des_id.lower()), None)


async def test_two_onboardings_with_one_des_name_do_not_rekey_or_delete_each_other(
    clients: AzureClients,
    isv: IsvTenant,
    emulator: RunningEmulator,
) -> None:
    a, b = _as_workflow(clients, WORKFLOW_A), _as_workflow(clients, WORKFLOW_B)
    chain = await build_isv_identity(a, isv)
    customer_a = await emulator.control.create_customer_tenant()
    customer_b = await emulator.control.create_customer_tenant()
    key_a = await customer_key(emulator, customer_a, chain.app.app_id)
    key_b = await customer_key(emulator, customer_b, chain.app.app_id)

    created = await a.run(
        ActivityName.CREATE_ENCRYPTION_SET, encryption_set_spec(isv, chain, key_a)
    )
    stored = await _des(emulator, created.id)
    assert stored is not None and stored["tags"][OWNER_TAG] == WORKFLOW_A

    await emulator.control.reset_requests()
    with pytest.raises(ApplicationError) as refused:
        await b.run(ActivityName.CREATE_ENCRYPTION_SET, encryption_set_spec(isv, chain, key_b))
    assert refused.value.type == ErrorType.RESOURCE_NOT_OWNED
    assert refused.value.non_retryable
    assert WORKFLOW_A in refused.value.message and "des_name" in refused.value.message
    writes = [r for r in await emulator.control.requests() if r.method in ("PUT", "DELETE")]
    assert writes == []
    stored = await _des(emulator, created.id)
    assert stored is not None and stored["properties"]["activeKey"]["keyUrl"] == key_a

    # B's compensation leaves A's set alone; A's own retry and delete work.
    assert await b.run(ActivityName.DELETE_ENCRYPTION_SET, ResourceRef(id=created.id)) is False
    assert await _des(emulator, created.id) is not None
    again = await a.run(ActivityName.CREATE_ENCRYPTION_SET, encryption_set_spec(isv, chain, key_a))
    assert again.id == created.id
    assert await a.run(ActivityName.DELETE_ENCRYPTION_SET, ResourceRef(id=created.id)) is True
    assert await _des(emulator, created.id) is None


async def test_untagged_existing_set_is_not_adopted(
    acts: Activities,
    isv: IsvTenant,
    customer: CustomerTenant,
    emulator: RunningEmulator,
    clients: AzureClients,
) -> None:
    """A set someone made by hand (no owner tag) is neither re-keyed nor deleted."""
    chain = await build_isv_identity(acts, isv)
    key_url = await customer_key(emulator, customer, chain.app.app_id)
    spec = encryption_set_spec(isv, chain, key_url)
    created = await acts.run(ActivityName.CREATE_ENCRYPTION_SET, spec)
    resources = clients.resources(isv.subscription_id).resources
    existing = await resources.get_by_id(created.id, api_version="2026-03-02")
    existing.tags = {"owner": "someone-else"}
    await (
        await resources.begin_create_or_update_by_id(
            created.id, existing, api_version="2026-03-02", polling_interval=0.05
        )
    ).result()
    with pytest.raises(ApplicationError) as refused:
        await acts.run(ActivityName.CREATE_ENCRYPTION_SET, spec)
    assert refused.value.type == ErrorType.RESOURCE_NOT_OWNED
    assert "no cmk-onboarding tag" in refused.value.message
    assert await acts.run(ActivityName.DELETE_ENCRYPTION_SET, ResourceRef(id=created.id)) is False
