"""Concurrent Graph activities in one worker must each address their own application.

Found by the reliability tests: msgraph's `applications_with_unique_name(name)` stores the name in
the client's shared path-parameter dict, and kiota expands the URL only after awaiting the token,
so concurrent reads went to whichever name was set last (an isolated onboarding got the shared app).
"""

from __future__ import annotations

import asyncio

from temporalio.testing import ActivityEnvironment

from activities.azure_clients import AzureClients
from activities.graph_apps import MULTI_TENANT, GraphActivities
from emulator.control import IsvTenant
from emulator.runner import RunningEmulator
from models import ApplicationSpec
from tests.activities.conftest import emulator_settings

NAMES = [f"concurrent-app-{i}" for i in range(6)]


async def test_concurrent_ensure_application_each_returns_its_own_app(
    emulator: RunningEmulator, isv: IsvTenant
) -> None:
    async with AzureClients(emulator_settings(emulator, isv), arm_retries=0) as setup:
        graph = GraphActivities(setup.graph)
        created = {
            name: await ActivityEnvironment().run(
                graph.ensure_application, ApplicationSpec(unique_name=name, display_name=name)
            )
            for name in NAMES
        }
    # A fresh client has no token yet: every call awaits one before its URL is built, which is
    # the window in which another call could overwrite the name.
    async with AzureClients(emulator_settings(emulator, isv), arm_retries=0) as fresh:
        graph = GraphActivities(fresh.graph)
        found = await asyncio.gather(
            *(
                ActivityEnvironment().run(
                    graph.ensure_application, ApplicationSpec(unique_name=name, display_name=name)
                )
                for name in NAMES
            )
        )
    assert [ref.object_id for ref in found] == [created[name].object_id for name in NAMES]
    assert not any(ref.created for ref in found)
    tenant = (await emulator.control.snapshot())["tenants"][isv.tenant_id.lower()]
    ours = [a for a in tenant["applications"].values() if a.get("uniqueName") in NAMES]
    assert sorted(a["uniqueName"] for a in ours) == sorted(NAMES)
    assert {a["signInAudience"] for a in ours} == {MULTI_TENANT}
