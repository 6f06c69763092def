"""The measured scenarios: warm-up, throughput beside the floor, parked onboardings, throttling."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from bench import azure_calls
from bench.azure_calls import AzureCalls, count_calls
from bench.driver import DRIVER_CONCURRENCY, RunResult, drive, floor_jobs, onboarding_jobs
from bench.proc import CpuSample, peak_rss_mb, rss_mb
from bench.stack import BenchStack
from client import operations
from client.connection import TemporalTarget
from emulator.control import IsvTenant
from harness import fleet
from harness.local_stack import DEFAULT_NAMESPACE, WorkerProcess, scaled_writes_pace
from models import SIGNAL_CUSTOMER_SETUP_COMPLETE, CustomerSetupComplete, Stage

HISTORY_SAMPLES = 3


@dataclass
class OnboardingWorker:
    """A worker.py process for one fresh ISV, warmed up: shared identity exists, feature on."""

    isv: IsvTenant
    process: WorkerProcess
    task_queue: str
    app_id: str
    registration_events: int
    shared_calls: AzureCalls
    warm_up_workflow_id: str = ""

    @property
    def target(self) -> TemporalTarget:
        return TemporalTarget("", DEFAULT_NAMESPACE, self.task_queue)


@dataclass
class Throughput:
    size: int
    ours: RunResult
    floor: RunResult | None
    calls: AzureCalls
    history_events: int
    peak_rss_mb: float
    extra: dict[str, Any] = field(default_factory=dict)


async def _calls_since(stack: BenchStack, since: float, isv: IsvTenant) -> AzureCalls:
    records = [r for r in await stack.control.requests() if r.time >= since]
    return count_calls(records, {isv.tenant_id, isv.subscription_id})


async def _events(stack: BenchStack, workflow_id: str) -> int:
    history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events)


async def start_onboarding_worker(
    stack: BenchStack, name: str, extra: dict[str, str] | None = None
) -> OnboardingWorker:
    """A fresh ISV and its worker, then one onboarding through the cold path.

    That first onboarding registers the preview feature and creates the shared identity (app,
    managed identity, federated credential); its calls are the ISV's one-off cost.
    """
    isv = await stack.new_isv()
    process, task_queue = await stack.start_worker(name, isv, extra=extra)
    since = time.time()
    customer = await stack.control.create_customer_tenant(display_name="Warm-up customer")
    onboarding = fleet.Onboarding(
        customer, fleet.onboarding_request(isv, customer, f"des-{customer.tenant_id[:8]}")
    )
    target = TemporalTarget(stack.temporal_address, DEFAULT_NAMESPACE, task_queue)
    await operations.start_onboarding(stack.client, target, onboarding.request)
    while (status := await fleet.status_of(stack.client, onboarding.workflow_id)).stage != (
        Stage.AWAITING_CUSTOMER
    ):
        assert status.stage not in (Stage.FAILED, Stage.CANCELLED), status.last_failure
        await asyncio.sleep(0.1)
    assert status.instructions is not None
    app_id = status.instructions.app_id
    key_url = await fleet.prepare_customer(stack.control, onboarding, app_id)
    handle = stack.client.get_workflow_handle(onboarding.workflow_id)
    await handle.signal(
        SIGNAL_CUSTOMER_SETUP_COMPLETE,
        CustomerSetupComplete(key_url=key_url, customer_tenant_id=customer.tenant_id),
    )
    await handle.result()
    return OnboardingWorker(
        isv=isv,
        process=process,
        task_queue=task_queue,
        app_id=app_id,
        registration_events=await _events(stack, onboarding.workflow_id),
        shared_calls=await _calls_since(stack, since, isv),
        warm_up_workflow_id=onboarding.workflow_id,
    )


async def _prepared_fleet(
    stack: BenchStack, worker: OnboardingWorker, size: int
) -> list[tuple[fleet.Onboarding, str]]:
    """`size` customers who have already consented, made a vault and key, and granted the role."""
    onboardings = await fleet.new_fleet(stack.control, worker.isv, size)
    limit = asyncio.Semaphore(DRIVER_CONCURRENCY)

    async def prepare(onboarding: fleet.Onboarding) -> tuple[fleet.Onboarding, str]:
        async with limit:
            return onboarding, await fleet.prepare_customer(
                stack.control, onboarding, worker.app_id
            )

    return list(await asyncio.gather(*(prepare(o) for o in onboardings)))


async def run_onboardings(
    stack: BenchStack, worker: OnboardingWorker, size: int, *, within: float
) -> tuple[RunResult, AzureCalls, int]:
    """`size` onboardings whose customers answer at once: timing, Azure calls, history size."""
    prepared = await _prepared_fleet(stack, worker, size)
    target = TemporalTarget(stack.temporal_address, DEFAULT_NAMESPACE, worker.task_queue)
    since = time.time()
    result = await drive(
        stack.client,
        worker.task_queue,
        onboarding_jobs(stack.client, target, prepared),
        within=within,
    )
    calls = await _calls_since(stack, since, worker.isv)
    completed = [w for w in result.closed_at if w not in result.failed][:HISTORY_SAMPLES]
    events = max([await _events(stack, w) for w in completed], default=0)
    return result, calls, events


async def run_floor(stack: BenchStack, task_queue: str, size: int, *, within: float) -> RunResult:
    return await drive(
        stack.client, task_queue, floor_jobs(stack.client, task_queue, size), within=within
    )


@dataclass(frozen=True)
class Parked:
    size: int
    rss_mb: float
    peak_rss_mb: float
    cpu_percent: float
    window: float
    # The same worker after its warm-up onboarding, before any of the `size` were started.
    warm_rss_mb: float = 0.0


async def run_parked(
    stack: BenchStack,
    size: int,
    *,
    window: float,
    within: float,
    extra: dict[str, str] | None = None,
) -> Parked:
    """`size` onboardings waiting for customers who do not answer; the worker should idle."""
    worker = await start_onboarding_worker(stack, "parked", extra)
    assert worker.process.pid is not None
    warm_rss = rss_mb(worker.process.pid)
    onboardings = await fleet.new_fleet(stack.control, worker.isv, size)
    target = TemporalTarget(stack.temporal_address, DEFAULT_NAMESPACE, worker.task_queue)
    limit = asyncio.Semaphore(DRIVER_CONCURRENCY)

    async def start(onboarding: fleet.Onboarding) -> None:
        async with limit:
            await operations.start_onboarding(stack.client, target, onboarding.request)

    await asyncio.gather(*(start(o) for o in onboardings))
    query = f'CmkStage = "{Stage.AWAITING_CUSTOMER.value}" AND TaskQueue = "{worker.task_queue}"'
    async with asyncio.timeout(within):
        # The warm-up onboarding completed, so only this fleet can be waiting.
        while (await stack.client.count_workflows(query)).count < size:  # noqa: ASYNC110
            await asyncio.sleep(0.5)  # polling the server: there is no event to wait on
    pid = worker.process.pid
    assert pid is not None
    before = CpuSample.now(pid)
    await asyncio.sleep(window)
    after = CpuSample.now(pid)
    parked = Parked(
        size, rss_mb(pid), peak_rss_mb(pid), after.percent_since(before), window, warm_rss
    )

    async def terminate(onboarding: fleet.Onboarding) -> None:
        async with limit:
            await stack.client.get_workflow_handle(onboarding.workflow_id).terminate("bench done")

    await asyncio.gather(*(terminate(o) for o in onboardings))
    stack.stop_worker(worker.process)
    return parked


# DiskRP's DES windows (emulator/ratelimits.py DES_DEFAULTS, DESIGN.md section 2): the sustained
# rate a subscription may create DES at is the tightest of allowed / window.
DES_WINDOWS = ((99, 180.0), (289, 1800.0))
DES_PUT = "Microsoft.Compute/diskEncryptionSets"


@dataclass(frozen=True)
class Throttled:
    size: int
    time_scale: float
    writes_per_second: float
    des_writes_per_second: float
    result: RunResult
    calls: AzureCalls
    des_creates: int
    des_per_second: float
    throttled_429: int
    des_429: int
    # Seconds between consecutive DES creates: a steady pace shows p50 near 1/pace and a small
    # max; a ramp or a starved queue shows as a large max.
    des_gaps: tuple[float, ...] = ()

    @property
    def binding_des_per_second(self) -> float:
        return min(allowed / window for allowed, window in DES_WINDOWS) * self.time_scale

    @property
    def share_of_binding_limit(self) -> float:
        return self.des_per_second / self.binding_des_per_second

    @property
    def throttled_share_of_writes(self) -> float:
        writes = self.calls.writes + self.throttled_429
        return self.throttled_429 / writes if writes else 0.0


async def run_throttled(
    stack: BenchStack, size: int, *, time_scale: float, within: float
) -> Throttled:
    """`size` onboardings against Azure's throttling model (ARM buckets, DiskRP's DES windows),
    `time_scale` times faster, with the worker at the default write paces scaled the same way.

    DES creates run on their own queue paced at DiskRP's limit, so they run back to back: their
    rate is measured against DiskRP's binding window.
    """
    previous = stack.time_scale
    await stack.scale_time(time_scale)
    try:
        worker = await start_onboarding_worker(stack, "throttled")
        paces = scaled_writes_pace(time_scale)
        pace = float(paces["AZURE_WRITES_PER_SECOND"])
        des_pace = float(paces["AZURE_DES_WRITES_PER_SECOND"])
        prepared = await _prepared_fleet(stack, worker, size)
        target = TemporalTarget(stack.temporal_address, DEFAULT_NAMESPACE, worker.task_queue)
        # Full buckets and empty windows: the warm-up's DES create is not counted against the run.
        await stack.control.set_throttling(time_scale=time_scale)
        since = time.time()
        result = await drive(
            stack.client,
            worker.task_queue,
            onboarding_jobs(stack.client, target, prepared),
            within=within,
        )
        records = [r for r in await stack.control.requests() if r.time >= since]
        calls = count_calls(records, {worker.isv.tenant_id, worker.isv.subscription_id})
        ours = [r for r in records if worker.isv.subscription_id.lower() in r.path.lower()]
        des = sorted(
            r.time
            for r in ours
            if r.method == "PUT" and r.resource_type == DES_PUT and r.status != 429
        )
        span = des[-1] - des[0] if len(des) > 1 else 0.0
        stack.stop_worker(worker.process)
    finally:
        await stack.scale_time(previous)
    return Throttled(
        size=size,
        time_scale=time_scale,
        writes_per_second=pace,
        des_writes_per_second=des_pace,
        result=result,
        calls=calls,
        des_creates=len(des),
        des_per_second=(len(des) - 1) / span if span > 0 else 0.0,
        throttled_429=sum(1 for r in ours if r.status == 429),
        des_429=sum(1 for r in ours if r.status == 429 and r.resource_type == DES_PUT),
        des_gaps=tuple(later - earlier for earlier, later in itertools.pairwise(des)),
    )


def peak_rss(worker: OnboardingWorker) -> float:
    assert worker.process.pid is not None
    return peak_rss_mb(worker.process.pid)


__all__ = ["azure_calls"]
