"""Many onboardings at once against the emulator, with every customer's side scripted.

The reliability tests and the benchmark drive fleets alike: create customer tenants, start one
workflow each, play each customer's administrator once its workflow waits for them (consent, a vault
with purge protection in the disks' region, an RSA key, the role assignment), send the key URL, and
collect how each onboarding ended. `count_resources` reads the emulator to prove nothing was created
twice.

    fleet = await new_fleet(control, isv, 100)
    outcomes = await onboard_all(client, target, control, fleet)
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError

from client import operations
from client.connection import NO_ANSWER_STATUSES, TemporalTarget
from emulator.control import CustomerTenant, EmulatorControl, IsvTenant
from models import (
    QUERY_STATUS,
    SIGNAL_CUSTOMER_SETUP_COMPLETE,
    CustomerSetupComplete,
    OnboardingRequest,
    OnboardingStatus,
    Stage,
    parse_request,
    workflow_id_for,
)

REGION = "eastus"
RESOURCE_GROUP = "cmk-rg"
T = TypeVar("T")
# Bounds on concurrent calls from the driver itself, so a fleet of 1,000 does not open 1,000
# connections to the dev server or the emulator at once.
DRIVER_CONCURRENCY = 50
POLL_INTERVAL = 0.5


@dataclass(frozen=True)
class Onboarding:
    customer: CustomerTenant
    request: OnboardingRequest

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.request.customer_tenant_id, self.request.des_name)


@dataclass(frozen=True)
class Outcome:
    workflow_id: str
    completed: bool
    failure: str | None
    # time.monotonic() when the key URL was sent and when the result arrived (None: never sent).
    submitted_at: float | None
    finished_at: float

    @property
    def signal_to_completion(self) -> float | None:
        return None if self.submitted_at is None else self.finished_at - self.submitted_at


@dataclass
class Progress:
    """When each customer's key URL was sent (time.monotonic()), by workflow id."""

    submitted_at: dict[str, float] = field(default_factory=dict)


def onboarding_request(
    isv: IsvTenant, customer: CustomerTenant, des_name: str, **overrides: Any
) -> OnboardingRequest:
    fields: dict[str, Any] = {
        "customer_tenant_id": customer.tenant_id,
        "customer_name": f"Customer {customer.tenant_id[:8]}",
        "isv_tenant_id": isv.tenant_id,
        "subscription_id": isv.subscription_id,
        "resource_group": RESOURCE_GROUP,
        "region": REGION,
        "des_name": des_name,
    }
    return parse_request(fields | overrides)


async def new_fleet(
    control: EmulatorControl, isv: IsvTenant, count: int, **overrides: Any
) -> list[Onboarding]:
    """`count` fresh customer tenants in the emulator, each with its onboarding request."""
    limit = asyncio.Semaphore(DRIVER_CONCURRENCY)

    async def one(index: int) -> Onboarding:
        async with limit:
            customer = await control.create_customer_tenant(display_name=f"Customer {index}")
        des_name = f"des-{customer.tenant_id[:8]}"
        return Onboarding(customer, onboarding_request(isv, customer, des_name, **overrides))

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def start_all(client: Client, target: TemporalTarget, fleet: Iterable[Onboarding]) -> None:
    limit = asyncio.Semaphore(DRIVER_CONCURRENCY)

    async def one(onboarding: Onboarding) -> None:
        async with limit:
            await operations.start_onboarding(client, target, onboarding.request)

    await asyncio.gather(*(one(o) for o in fleet))


async def prepare_customer(control: EmulatorControl, onboarding: Onboarding, app_id: str) -> str:
    """What the customer's administrator does in their own tenant; returns the key URL."""
    tenant_id = onboarding.customer.tenant_id
    vault = f"kv{tenant_id[:8]}"
    await control.grant_consent(tenant_id, app_id)
    await control.create_vault(tenant_id, vault, region=onboarding.request.region)
    key_url = await control.create_key(tenant_id, vault, "disk-key", size=3072)
    await control.assign_key_role(tenant_id, vault, app_id)
    return key_url


# A query waits for a worker to answer it; with hundreds of onboardings and faults on a loaded
# machine one can time out ("Timeout expired", CANCELLED) while the workflow is fine: ask again.
QUERY_ATTEMPTS = 5


async def status_of(client: Client, workflow_id: str) -> OnboardingStatus:
    handle = client.get_workflow_handle(workflow_id)
    for attempt in range(1, QUERY_ATTEMPTS + 1):
        try:
            return await handle.query(QUERY_STATUS, result_type=OnboardingStatus)
        except RPCError as error:
            if error.status not in NO_ANSWER_STATUSES or attempt == QUERY_ATTEMPTS:
                raise
            await asyncio.sleep(attempt)
    raise AssertionError("unreachable")


async def awaiting_customer(client: Client, task_queue: str) -> set[str]:
    """Ids of the onboardings on `task_queue` that wait for their customer (one visibility call)."""
    query = f'CmkStage = "{Stage.AWAITING_CUSTOMER.value}" AND TaskQueue = "{task_queue}"'
    return {w.id async for w in client.list_workflows(query, page_size=1000)}


async def complete_customer(
    client: Client, control: EmulatorControl, onboarding: Onboarding
) -> float:
    """Set the customer's side up and signal the key URL; returns when it was sent."""
    status = await status_of(client, onboarding.workflow_id)
    assert status.instructions is not None, f"{onboarding.workflow_id} has no instructions yet"
    key_url = await prepare_customer(control, onboarding, status.instructions.app_id)
    body = CustomerSetupComplete(key_url=key_url, customer_tenant_id=onboarding.customer.tenant_id)
    await client.get_workflow_handle(onboarding.workflow_id).signal(
        SIGNAL_CUSTOMER_SETUP_COMPLETE, body
    )
    return time.monotonic()


async def play_customers(
    client: Client,
    target: TemporalTarget,
    control: EmulatorControl,
    fleet: list[Onboarding],
    progress: Progress,
) -> None:
    """Complete each customer's setup as soon as its workflow waits for it, until all have been."""
    by_id = {o.workflow_id: o for o in fleet}
    limit = asyncio.Semaphore(DRIVER_CONCURRENCY)

    async def one(onboarding: Onboarding) -> None:
        async with limit:
            sent = await complete_customer(client, control, onboarding)
            progress.submitted_at[onboarding.workflow_id] = sent

    while len(progress.submitted_at) < len(by_id):
        ready = (await awaiting_customer(client, target.task_queue)) & by_id.keys()
        ready -= progress.submitted_at.keys()
        await asyncio.gather(*(one(by_id[w]) for w in ready))
        if not ready:
            await asyncio.sleep(POLL_INTERVAL)


async def result_of(client: Client, workflow_id: str, progress: Progress) -> Outcome:
    handle = client.get_workflow_handle(workflow_id)
    failure: str | None = None
    try:
        await handle.result()
    except WorkflowFailureError as error:
        failure = str(error.cause) if error.cause else str(error)
    return Outcome(
        workflow_id,
        completed=failure is None,
        failure=failure,
        submitted_at=progress.submitted_at.get(workflow_id),
        finished_at=time.monotonic(),
    )


async def unless_failed(background: asyncio.Task[Any], waiting: Awaitable[T]) -> T:
    """Await `waiting`, but raise at once if `background` fails meanwhile: if playing the
    customers fails (a query or admin call refused), the workflows would otherwise wait for their
    customers until the caller's timeout."""
    task = asyncio.ensure_future(waiting)
    try:
        await asyncio.wait({task, background}, return_when=asyncio.FIRST_COMPLETED)
        if background.done() and (failure := background.exception()) is not None:
            raise failure
        return await task
    finally:
        task.cancel()


async def onboard_all(
    client: Client,
    target: TemporalTarget,
    control: EmulatorControl,
    fleet: list[Onboarding],
    *,
    within: float = 600.0,
) -> list[Outcome]:
    """Start every onboarding, play every customer, and wait for every result."""
    progress = Progress()
    async with asyncio.timeout(within):
        await start_all(client, target, fleet)
        customers = asyncio.create_task(play_customers(client, target, control, fleet, progress))
        try:
            outcomes = await unless_failed(
                customers,
                asyncio.gather(*(result_of(client, o.workflow_id, progress) for o in fleet)),
            )
        finally:
            customers.cancel()
    return list(outcomes)


def count_resources(snapshot: dict[str, Any], isv: IsvTenant) -> Counter[str]:
    """What the emulator holds for the ISV: apps, federated credentials, identities, DES, disks."""
    counts: Counter[str] = Counter()
    tenant = snapshot["tenants"][isv.tenant_id.lower()]
    for app in tenant["applications"].values():
        counts["applications"] += 1
        counts["federated_credentials"] += len(app.get("federatedIdentityCredentials", []))
    counts["service_principals"] = len(tenant["service_principals"])
    prefix = f"/subscriptions/{isv.subscription_id}".lower()
    for resource_id in snapshot["resources"]:
        if not resource_id.startswith(prefix):
            continue
        for suffix, name in (
            ("/userassignedidentities/", "managed_identities"),
            ("/diskencryptionsets/", "disk_encryption_sets"),
            ("/disks/", "disks"),
        ):
            if suffix in resource_id:
                counts[name] += 1
    return counts


def duplicated_names(snapshot: dict[str, Any], isv: IsvTenant) -> list[str]:
    """Display names of ISV apps and names of ISV resources that exist more than once."""
    tenant = snapshot["tenants"][isv.tenant_id.lower()]
    names = Counter(a.get("displayName") for a in tenant["applications"].values())
    names.update(r.get("id", "").lower() for r in snapshot["resources"].values())
    for app in tenant["applications"].values():
        names.update(
            f"{app.get('appId')}/fic/{f['name'].lower()}"
            for f in app.get("federatedIdentityCredentials", [])
        )
    return sorted(str(n) for n, c in names.items() if c > 1)
