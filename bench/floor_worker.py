"""The floor's worker process: worker.py's Temporal settings, the floor workflow, no Azure.

python -m bench.floor_worker     # configured by the same environment as worker.py
"""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio.worker import Worker

from bench.floor import FloorWatchWorkflow, FloorWorkflow, noop
from client.connection import connect_temporal
from config.settings import SettingsError, WorkerSettings


async def run(settings: WorkerSettings) -> None:
    client = await connect_temporal(settings.temporal)
    worker = Worker(
        client,
        task_queue=settings.temporal.task_queue,
        workflows=[FloorWorkflow, FloorWatchWorkflow],
        activities=[noop],
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with worker:
        await stop.wait()


def main() -> int:
    try:
        settings = WorkerSettings.from_env()
    except SettingsError as error:
        print(f"bench.floor_worker: {error}", file=sys.stderr)
        return 2
    asyncio.run(run(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
