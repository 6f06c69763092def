"""Fault injection, the write quota, the request log and counters, and the webhook sink."""

from __future__ import annotations

import httpx
import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.rest import AsyncHttpResponse

from emulator.control import FaultRule
from tests.emulator.conftest import Arm, arm_error

UAMI_PATH = r"/userAssignedIdentities/"


async def test_throttle_fault_is_429_with_retry_after(emulator, arm: Arm) -> None:
    """A throttle rule answers 429 with Retry-After and an ARM throttling body."""
    await emulator.control.set_faults(
        [FaultRule(path_regex=UAMI_PATH, kind="throttle", retry_after=7)]
    )
    with pytest.raises(HttpResponseError) as error:
        await arm.msi.user_assigned_identities.get("cmk-rg", "x12")
    assert error.value.status_code == 429
    response = error.value.response
    assert isinstance(response, AsyncHttpResponse)
    assert response.headers["Retry-After"] == "7"
    assert arm_error(error.value).code == "SubscriptionRequestsThrottled"


async def test_error_fault_stops_after_max_count(emulator, arm: Arm) -> None:
    """An error rule with max_count=1 fails once with its status, then requests pass."""
    await emulator.control.set_faults(
        [FaultRule(path_regex=UAMI_PATH, kind="error", status=500, max_count=1)]
    )
    with pytest.raises(HttpResponseError) as error:
        await arm.msi.user_assigned_identities.get("cmk-rg", "x12")
    assert error.value.status_code == 500
    with pytest.raises(ResourceNotFoundError):
        await arm.msi.user_assigned_identities.get("cmk-rg", "x12")


async def test_latency_fault_is_recorded_and_served(emulator, arm: Arm) -> None:
    """A latency rule still serves the request and marks it in the request log."""
    await emulator.control.reset_requests()
    await emulator.control.set_faults(
        [FaultRule(path_regex=UAMI_PATH, kind="latency", latency_ms=30)]
    )
    created = await arm.msi.user_assigned_identities.create_or_update(
        "cmk-rg", "slow-one", {"location": "eastus"}
    )
    assert created.principal_id
    records = [r for r in await emulator.control.requests() if "slow-one" in r.path]
    assert [(r.status, r.fault) for r in records] == [(201, "latency")]


async def test_drop_changes_nothing(emulator, arm: Arm) -> None:
    """A dropped connection surfaces as a transport error and the write did not happen."""
    await emulator.control.set_faults([FaultRule(method="PUT", path_regex=UAMI_PATH, kind="drop")])
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        await arm.msi.user_assigned_identities.create_or_update(
            "cmk-rg", "dropped", {"location": "eastus"}
        )
    await emulator.control.clear_faults()
    with pytest.raises(ResourceNotFoundError):
        await arm.msi.user_assigned_identities.get("cmk-rg", "dropped")


async def test_lost_response_commits_the_write(emulator, arm: Arm) -> None:
    """A lost response looks like a transport error, but the identity exists afterwards."""
    await emulator.control.set_faults(
        [FaultRule(method="PUT", path_regex=UAMI_PATH, kind="lost_response")]
    )
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        await arm.msi.user_assigned_identities.create_or_update(
            "cmk-rg", "ghost", {"location": "eastus"}
        )
    await emulator.control.clear_faults()
    records = [r for r in await emulator.control.requests() if r.path.endswith("/ghost")]
    assert records and all(r.fault == "lost_response" for r in records)
    assert (await arm.msi.user_assigned_identities.get("cmk-rg", "ghost")).principal_id


async def test_probability_is_deterministic_from_seed(emulator, arm: Arm) -> None:
    """The same seed and request sequence produce the same faulted requests."""

    async def faulted_pattern() -> list[bool]:
        await emulator.control.set_faults(
            [FaultRule(path_regex=UAMI_PATH, kind="error", probability=0.5)], seed=42
        )
        outcome = []
        for _ in range(12):
            try:
                await arm.msi.user_assigned_identities.get("cmk-rg", "x12")
            except ResourceNotFoundError:
                outcome.append(False)
            except HttpResponseError:
                outcome.append(True)
        return outcome

    first = await faulted_pattern()
    assert first == await faulted_pattern() and any(first) and not all(first)


async def test_write_quota_throttles_like_arm(emulator, isv, arm: Arm) -> None:
    """Past the per-minute write quota a write gets 429 with Retry-After; reads still pass."""
    await emulator.control.set_write_quota(isv.subscription_id, 2)
    first = await arm.msi.user_assigned_identities.create_or_update(
        "cmk-rg", "q-1", {"location": "eastus"}
    )
    await arm.msi.user_assigned_identities.create_or_update("cmk-rg", "q-2", {"location": "eastus"})
    with pytest.raises(HttpResponseError) as error:
        await arm.msi.user_assigned_identities.create_or_update(
            "cmk-rg", "q-3", {"location": "eastus"}
        )
    response = error.value.response
    assert isinstance(response, AsyncHttpResponse)
    assert error.value.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert response.headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"
    assert (await arm.msi.user_assigned_identities.get("cmk-rg", "q-1")).id == first.id
    await emulator.control.set_write_quota(isv.subscription_id, None)


async def test_request_log_and_counters(emulator, isv, arm: Arm) -> None:
    """Requests are logged with tenant and resource type; counters split reads and writes.

    reset_requests clears both.
    """
    await emulator.control.reset_requests()
    await arm.msi.user_assigned_identities.create_or_update(
        "cmk-rg", "logged", {"location": "eastus"}
    )
    await arm.msi.user_assigned_identities.get("cmk-rg", "logged")
    records = [
        r
        for r in await emulator.control.requests()
        if r.resource_type.endswith("userAssignedIdentities")
    ]
    assert [(r.method, r.status, r.kind, r.tenant_id) for r in records] == [
        ("PUT", 201, "write", isv.tenant_id),
        ("GET", 200, "read", isv.tenant_id),
    ]
    counters = await emulator.control.counters()
    assert counters["by_resource_type"]["Microsoft.ManagedIdentity/userAssignedIdentities"] == {
        "read": 1,
        "write": 1,
    }
    await emulator.control.reset_requests()
    assert await emulator.control.requests() == []


async def test_webhook_sink_stores_messages(emulator) -> None:
    """JSON posted to /_emulator/webhooks/{channel} is returned by webhook_messages."""
    async with httpx.AsyncClient(verify=str(emulator.ca_path)) as http:
        response = await http.post(
            f"{emulator.url}/_emulator/webhooks/cust-1", json={"kind": "instructions"}
        )
    assert response.status_code == 204
    assert await emulator.control.webhook_messages("cust-1") == [{"kind": "instructions"}]
