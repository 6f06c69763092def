"""Least privilege is tested, not claimed: the whole onboarding (dev server, emulator, worker.py)
with exactly the role set of deploy/isv-access.json completes; without any one permission of a
representative subset it ends with an error naming that permission and its fix, quickly, with no
retry storm.

The subset: one action per step that needs its own permission (feature registration, the DES
write, the test disk write), each built-in role, and the Graph permission. Each case is a fresh
ISV (so the once-per-ISV steps run again) and its own worker process: about 10-20 s each. The
error classification of every action of the set is covered in
tests/activities/test_permission_errors.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from activities.isv_access import isv_access
from client import operations
from client.connection import TemporalTarget
from emulator.control import EmulatorControl, IsvTenant
from emulator.runner import EmulatorProcess, start_emulator_process
from harness import fleet
from harness.local_stack import (
    DEFAULT_NAMESPACE,
    LOCAL_TIME_SCALE,
    DevServer,
    WorkerProcess,
    worker_env,
)
from models import OnboardingStatus, Stage

ACCESS = isv_access()
CUSTOM = ACCESS.roles[0]
GRAPH = ACCESS.graph_permissions[0]
# Built-in roles at the resource group (README allows either scope): least privilege as narrow
# as it goes. The custom role holds subscription-level actions, so it sits on the subscription.
RG_SCOPE = "/resourceGroups/cmk-rg"
WITHIN = 120.0


@dataclass(frozen=True)
class Removal:
    """One permission taken out of the role set, and the text the failure must name."""

    action: str | None = None  # one action of the custom role
    role: str | None = None  # a whole built-in role
    graph: bool = False
    names: str = ""


REMOVALS = [
    Removal(
        action="Microsoft.Features/providers/features/register/action",
        names="Microsoft.Features/providers/features/register/action",
    ),
    Removal(
        action="Microsoft.Compute/diskEncryptionSets/write",
        names="Microsoft.Compute/diskEncryptionSets/write",
    ),
    Removal(action="Microsoft.Compute/disks/write", names="Microsoft.Compute/disks/write"),
    Removal(
        role="Managed Identity Contributor",
        names="Microsoft.ManagedIdentity/userAssignedIdentities/",
    ),
    Removal(
        role="Managed Identity Operator",
        names="Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
    ),
    Removal(graph=True, names=GRAPH),
]


@dataclass
class Stack:
    server: DevServer
    emulator: EmulatorProcess
    client: Client
    root: Path

    @property
    def control(self) -> EmulatorControl:
        return self.emulator.control


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    root = tmp_path_factory.mktemp("least-privilege")
    server = DevServer(db_file=root / "temporal.db", ui=False)
    await server.start()
    emulator = start_emulator_process(data_dir=root / "emulator", feature_delay=0.0)
    await emulator.control.set_throttling(time_scale=LOCAL_TIME_SCALE)
    client = await Client.connect(server.address, data_converter=pydantic_data_converter)
    try:
        yield Stack(server, emulator, client, root)
    finally:
        await emulator.control.aclose()
        emulator.stop()
        server.stop()


async def _isv_with_exactly(control: EmulatorControl, removal: Removal | None) -> IsvTenant:
    """A fresh ISV whose worker holds exactly deploy/'s role set, minus `removal`."""
    isv = await control.create_isv_tenant()
    sub, app = isv.subscription_id, isv.client_id
    for assignment in await control.role_assignments(sub):
        await control.revoke_role(sub, role=assignment["role"], app_id=app)
    assert await control.role_assignments(sub) == []
    for action in CUSTOM.actions:
        if removal is None or action != removal.action:
            await control.grant_role(sub, action=action, app_id=app)
    for role in ACCESS.roles[1:]:
        if removal is None or role.name != removal.role:
            await control.grant_role(sub, role=role.name, app_id=app, scope=RG_SCOPE)
    graph = [] if removal is not None and removal.graph else list(ACCESS.graph_permissions)
    await control.set_graph_permissions(isv.tenant_id, app, graph)
    return isv


def _messages(error: BaseException | None) -> str:
    parts = []
    while error is not None:
        parts.append(str(error))
        error = error.__cause__
    return " | ".join(parts)


async def _status(client: Client, workflow_id: str) -> OnboardingStatus:
    """The status query, once the just-started worker answers queries."""
    while True:
        try:
            return await fleet.status_of(client, workflow_id)
        except RPCError:  # "query timed out before a worker could process it"
            await asyncio.sleep(0.5)


async def _onboard(stack: Stack, isv: IsvTenant) -> tuple[bool, str, Stage]:
    """One onboarding on its own worker; (completed, failure text, last stage)."""
    task_queue = f"least-privilege-{uuid.uuid4().hex[:8]}"
    env = worker_env(
        stack.server.address, task_queue, isv, stack.emulator.url, stack.emulator.ca_path
    )
    worker = WorkerProcess(env, stack.root / f"{task_queue}.log")
    worker.start()
    try:
        customer = await stack.control.create_customer_tenant(display_name="Fabrikam")
        onboarding = fleet.Onboarding(
            customer, fleet.onboarding_request(isv, customer, f"des-{customer.tenant_id[:8]}")
        )
        target = TemporalTarget(stack.server.address, DEFAULT_NAMESPACE, task_queue)
        await operations.start_onboarding(stack.client, target, onboarding.request)
        handle = stack.client.get_workflow_handle(onboarding.workflow_id)
        signalled = False
        async with asyncio.timeout(WITHIN):
            while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                status = await _status(stack.client, onboarding.workflow_id)
                if status.stage == Stage.AWAITING_CUSTOMER:
                    if signalled and status.last_failure:  # sent back to the customer
                        return False, status.last_failure, status.stage
                    if not signalled:
                        await fleet.complete_customer(stack.client, stack.control, onboarding)
                        signalled = True
                await asyncio.sleep(0.3)
        status = await _status(stack.client, onboarding.workflow_id)
        try:
            await handle.result()
        except WorkflowFailureError as error:
            text = _messages(error) + " | " + (status.last_failure or "")
            return False, text, status.stage
        return True, "", status.stage
    except TimeoutError:
        raise AssertionError(f"no end within {WITHIN}s:\n{worker.log_tail(40)}") from None
    finally:
        worker.stop()


async def test_exactly_the_documented_role_set_onboards(stack: Stack) -> None:
    """Custom role actions (subscription), Managed Identity Contributor and Operator (resource
    group), Graph Application.ReadWrite.OwnedBy: nothing more, and the onboarding completes."""
    isv = await _isv_with_exactly(stack.control, None)
    completed, failure, stage = await _onboard(stack, isv)
    assert completed, failure
    assert stage == Stage.COMPLETED


@pytest.mark.parametrize("removal", REMOVALS, ids=lambda r: r.action or r.role or "graph")
async def test_without_one_permission_the_error_names_it(stack: Stack, removal: Removal) -> None:
    """One permission less: the onboarding ends (no hang) with an error naming the permission and
    the fix, after at most a couple of refused requests (non-retryable, no retry storm)."""
    isv = await _isv_with_exactly(stack.control, removal)
    await stack.control.reset_requests()
    completed, failure, _ = await _onboard(stack, isv)
    assert not completed
    assert removal.names in failure, failure
    assert "Fix:" in failure, failure
    refused = [
        r
        for r in await stack.control.requests()
        if r.status == 403 and (isv.subscription_id in r.path or r.tenant_id == isv.tenant_id)
    ]
    assert 1 <= len(refused) <= 2, [(r.method, r.path) for r in refused]
