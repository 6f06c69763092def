"""Issue 5, item 4: Azure commits a write but the response never arrives.

The emulator's `lost_response` fault runs the request to completion (the resource exists) and then
aborts the connection, so the caller sees a transport error and cannot tell whether it worked. A
retry that blindly repeats a non-idempotent Graph POST creates a second object; the activities
must instead upsert (app), re-read (federated credential) or PUT by name (ARM).
"""

from __future__ import annotations

import re
from collections import Counter

import httpx
import pytest
from msgraph.generated.models.application import Application
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.azure_clients import AzureClients
from activities.graph_apps import MULTI_TENANT, GraphActivities
from config.settings import AzureSettings
from emulator.control import FaultRule, RequestRecord
from harness.fleet import onboard_all
from models import ApplicationSpec
from tests.reliability.conftest import ReliabilityStack
from tests.reliability.fault_fixtures import (
    assert_exactly_one_of_each,
    azure_requests,
    expected_resources,
    failures_of,
    mixed_fleet,
)

SHARED = 3
ISOLATED = 3
WORKERS = 2
# Every create the onboarding makes, by the request that creates it.
CREATES = {
    "application (Graph upsert)": ("PATCH", r"^/v1\.0/applications\(uniqueName="),
    "federated credential (Graph POST)": ("POST", r"/federatedIdentityCredentials$"),
    "managed identity (ARM PUT)": ("PUT", r"/userAssignedIdentities/[^/]+$"),
    "disk encryption set (ARM PUT)": ("PUT", r"/diskEncryptionSets/[^/]+$"),
    "test disk (ARM PUT)": ("PUT", r"/disks/[^/]+$"),
    "test disk removal (ARM DELETE)": ("DELETE", r"/disks/[^/]+$"),
}


def _lost_by_create(records: list[RequestRecord]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for record in records:
        if record.fault != "lost_response":
            continue
        for name, (method, path) in CREATES.items():
            if record.method == method and re.search(path, record.path):
                counts[name] += 1
    return counts


@pytest.mark.timeout(600)
async def test_lost_responses_on_every_create_leave_exactly_one_of_each(
    reliability_stack: ReliabilityStack,
) -> None:
    stack = reliability_stack
    control = stack.emulator.control
    fleet = await mixed_fleet(control, stack.isv, SHARED, ISOLATED)
    stack.start_workers(WORKERS)
    before = await control.snapshot()
    await control.reset_requests()
    # Every matching write loses its response until the rule has fired once per onboarding: each
    # isolated chain and the shared one lose their first create, every DES and test disk theirs.
    await control.set_faults(
        [
            FaultRule(method=method, path_regex=path, kind="lost_response", max_count=len(fleet))
            for method, path in CREATES.values()
        ]
    )

    outcomes = await onboard_all(stack.client, stack.target, control, fleet, within=480)
    records = azure_requests(await control.requests())
    await control.clear_faults()

    assert failures_of(outcomes) == []
    after = await control.snapshot()
    lost = _lost_by_create(records)
    print(f"\nlost responses per create: {dict(lost)}")
    counts = assert_exactly_one_of_each(before, after, fleet, stack.isv)
    print(f"resources {counts}; duplicates 0")
    # Each kind of create really lost a response (and the write behind it was committed).
    assert set(lost) == set(CREATES), lost
    # Not even transiently: per app, credential list and identity, exactly one request ever got
    # "201 Created" (lost responses are logged with the status the emulator committed).
    created: Counter[tuple[str, str]] = Counter(
        (r.method, r.path.lower()) for r in records if r.status == 201
    )
    graph_and_identity = {
        key: n
        for key, n in created.items()
        if any(
            key[0] == method and re.search(path, key[1], re.IGNORECASE)
            for method, path in list(CREATES.values())[:3]
        )
    }
    chains = expected_resources(fleet)["applications"]
    assert len(graph_and_identity) == 3 * chains, graph_and_identity
    assert set(graph_and_identity.values()) == {1}, graph_and_identity


async def test_bare_retried_graph_post_duplicates_where_the_upsert_activity_does_not(
    reliability_stack: ReliabilityStack,
) -> None:
    """Why the activity upserts: the same lost response, two ways of retrying it."""
    stack = reliability_stack
    control = stack.emulator.control
    settings = AzureSettings(
        mode="emulator",
        tenant_id=stack.isv.tenant_id,
        client_id=stack.isv.client_id,
        client_secret=stack.isv.client_secret,
        subscription_id=stack.isv.subscription_id,
        emulator_url=stack.emulator.url,
        emulator_ca_bundle=stack.emulator.ca_path,
    )

    async def apps_named(name: str) -> list[str]:
        tenant = (await control.snapshot())["tenants"][stack.isv.tenant_id.lower()]
        return [a["id"] for a in tenant["applications"].values() if a["displayName"] == name]

    async with AzureClients(settings) as clients:
        # A bare POST /applications, retried after its response was lost, as any generic HTTP
        # retry (or kiota's RetryHandler on a connection error) would do.
        await control.set_faults(
            [FaultRule(method="POST", path_regex=r"^/v1\.0/applications$", kind="lost_response")]
        )
        body = Application(display_name="bare-post", sign_in_audience=MULTI_TENANT)
        with pytest.raises(httpx.TransportError):
            await clients.graph.applications.post(body)
        await control.clear_faults()
        assert len(await apps_named("bare-post")) == 1  # committed, though the caller never knew
        await clients.graph.applications.post(body)
        assert len(await apps_named("bare-post")) == 2

        # The activity, retried the way Temporal retries it, after the same kind of lost response.
        await control.set_faults(
            [
                FaultRule(
                    method="PATCH",
                    path_regex=r"^/v1\.0/applications\(uniqueName=",
                    kind="lost_response",
                    max_count=1,
                )
            ]
        )
        spec = ApplicationSpec(unique_name="upserted", display_name="upserted")
        activity = GraphActivities(clients.graph).ensure_application
        with pytest.raises(ApplicationError) as first:
            await ActivityEnvironment().run(activity, spec)
        assert not first.value.non_retryable  # a connection problem: Temporal retries it
        assert len(await apps_named("upserted")) == 1  # committed, as above
        retried = await ActivityEnvironment().run(activity, spec)
        await control.clear_faults()
        assert await apps_named("upserted") == [retried.object_id]
