"""`uv run python -m bench.lifecycle_scale`: one worker's memory with ever more parked onboardings
and key-health watches (issue 15, item 5).

One worker.py process, warmed up by one onboarding that completes (its watch is real). Then, step
by step, more onboardings parked waiting for customers who do not answer, and as many watches
sleeping until their next hourly check (started as the onboarding starts them: verified just now,
so their first Azure call is an interval away). After each step: the worker's RSS, its peak, and
its CPU while everything waits. RSS should follow the workflow cache (MAX_CACHED_WORKFLOWS), not
the number of workflows: a parked workflow costs the worker nothing once evicted, only the server
keeps it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any

from temporalio.client import Client

from bench.driver import DRIVER_CONCURRENCY
from bench.proc import CpuSample, peak_rss_mb, rss_mb
from bench.report import markdown_table
from bench.scenarios import OnboardingWorker, start_onboarding_worker
from bench.stack import BenchStack
from client import operations
from client.connection import TemporalTarget
from client.lifecycle import deployment_of
from config.settings import WorkerSettings
from harness import fleet
from harness.local_stack import DEFAULT_NAMESPACE
from models import Stage
from models.lifecycle import WATCH_WORKFLOW_TYPE, Deployment, WatchInput, watch_workflow_id
from workflows import CmkKeyHealthWatchWorkflow


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.lifecycle_scale", description=__doc__)
    parser.add_argument(
        "--steps",
        default="500,1500,3000",
        help="cumulative onboardings (and as many watches) after each step, comma-separated",
    )
    parser.add_argument("--window", type=float, default=10.0, help="seconds of CPU sampling")
    parser.add_argument("--within", type=float, default=3600.0, help="seconds allowed per step")
    parser.add_argument("--workdir", type=Path, default=Path(".bench-lifecycle"))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--worker-env", action="append", default=[], metavar="NAME=VALUE", help="worker settings"
    )
    return parser.parse_args(argv)


async def _bounded(jobs: list[Any]) -> None:
    limit = asyncio.Semaphore(DRIVER_CONCURRENCY)

    async def run(job: Any) -> None:
        async with limit:
            await job

    await asyncio.gather(*(run(job) for job in jobs))


async def _start_watches(
    client: Client, target: TemporalTarget, template: Deployment, first: int, count: int
) -> None:
    """`count` watches of copies of the warm-up's deployment, each as the onboarding starts it."""
    now = datetime.datetime.now(datetime.UTC)

    def start(number: int) -> Any:
        onboarding_id = f"bench-scale-{number:06d}"
        deployment = template.model_copy(update={"onboarding_workflow_id": onboarding_id})
        return client.start_workflow(
            CmkKeyHealthWatchWorkflow.run,
            WatchInput(deployment=deployment, verified_at=now),
            id=watch_workflow_id(onboarding_id),
            task_queue=target.task_queue,
        )

    await _bounded([start(first + i) for i in range(count)])


async def _wait_for(client: Client, query: str, count: int, within: float) -> None:
    async with asyncio.timeout(within):
        while (await client.count_workflows(query)).count < count:  # noqa: ASYNC110
            await asyncio.sleep(1.0)  # polling the server: there is no event to wait on


async def _settled(pid: int, within: float, busy_percent: float = 20.0) -> None:
    """Wait until the worker has worked off the new watches' first workflow tasks: a watch counts
    as running once started, before any worker has run it."""
    async with asyncio.timeout(within):
        while True:
            before = CpuSample.now(pid)
            await asyncio.sleep(2.0)
            if CpuSample.now(pid).percent_since(before) < busy_percent:
                return


async def _step(
    stack: BenchStack, worker: OnboardingWorker, template: Deployment, done: int, total: int,
    args: argparse.Namespace,
) -> dict[str, Any]:  # fmt: skip
    target = TemporalTarget(stack.temporal_address, DEFAULT_NAMESPACE, worker.task_queue)
    queue = f'TaskQueue = "{worker.task_queue}"'
    parked = f'CmkStage = "{Stage.AWAITING_CUSTOMER.value}" AND {queue}'
    # Started in batches of half the workflow cache, each parked before the next, as a paced
    # campaign does: more onboardings in flight than the cache holds would make every activity
    # completion evict and replay a workflow (measured: under 1 parked per second at 1,000 in
    # flight and cache 150), which is a burst's cost, not a parked fleet's.
    batch = max(1, args.cache // 2)
    for first in range(done, total, batch):
        size = min(batch, total - first)
        onboardings = await fleet.new_fleet(stack.control, worker.isv, size)
        await _bounded(
            [operations.start_onboarding(stack.client, target, o.request) for o in onboardings]
        )
        await _wait_for(stack.client, parked, first + size, args.within)
    await _start_watches(stack.client, target, template, done, total - done)
    # The warm-up's own watch is running too.
    watches = f'WorkflowType = "{WATCH_WORKFLOW_TYPE}" AND ExecutionStatus = "Running" AND {queue}'
    await _wait_for(stack.client, watches, total + 1, args.within)
    pid = worker.process.pid
    assert pid is not None
    await _settled(pid, args.within)
    before = CpuSample.now(pid)
    await asyncio.sleep(args.window)
    after = CpuSample.now(pid)
    return {
        "parked_onboardings": total,
        "watches": total + 1,
        "rss_mb": round(rss_mb(pid), 1),
        "peak_rss_mb": round(peak_rss_mb(pid), 1),
        "cpu_percent": round(after.percent_since(before), 2),
    }


async def collect(args: argparse.Namespace) -> dict[str, Any]:
    overrides = dict(item.split("=", 1) for item in args.worker_env)
    args.cache = int(overrides.get("MAX_CACHED_WORKFLOWS", WorkerSettings.max_cached_workflows))
    steps = [int(step) for step in args.steps.split(",") if step.strip()]
    stack = await BenchStack.open(args.workdir, worker_overrides=overrides)
    figures: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["uv run python -m bench.lifecycle_scale", *(sys.argv[1:])]),
        "cpus": os.cpu_count(),
        "worker_env": overrides,
        "cache": args.cache,
    }
    try:
        worker = await start_onboarding_worker(stack, "lifecycle-scale")
        target = TemporalTarget(stack.temporal_address, DEFAULT_NAMESPACE, worker.task_queue)
        template = await deployment_of(stack.client, target, worker.warm_up_workflow_id)
        pid = worker.process.pid
        assert pid is not None
        figures["warm_rss_mb"] = round(rss_mb(pid), 1)
        figures["steps"] = []
        done = 0
        for total in steps:
            figures["steps"].append(await _step(stack, worker, template, done, total, args))
            done = total
    finally:
        await stack.close()
    return figures


def render(figures: dict[str, Any]) -> str:
    header = ["parked onboardings", "watches", "RSS MB", "peak MB", "CPU % (idle)"]
    rows = [
        [s["parked_onboardings"], s["watches"], s["rss_mb"], s["peak_rss_mb"], s["cpu_percent"]]
        for s in figures["steps"]
    ]
    title = f"{figures['command']}   ({figures['date']}, {figures['cpus']} CPUs)"
    env = f"\nworker env: {figures['worker_env']}" if figures["worker_env"] else ""
    head = (
        f"workflow cache {figures['cache']}; worker after its warm-up: {figures['warm_rss_mb']} MB"
    )
    return f"{title}{env}\n{head}\n\n{markdown_table(header, rows)}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = asyncio.run(collect(args))
    print(json.dumps(figures, indent=2) if args.json else render(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
