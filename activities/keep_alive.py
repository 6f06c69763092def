"""Heartbeat every activity that has a heartbeat timeout, for as long as it runs.

Without a heartbeat, Temporal learns that a worker died mid-activity only when the activity's
start-to-close timeout expires (minutes for an Azure call). With one, a crashed or partitioned
worker's activity is retried on another worker within its heartbeat timeout. The heartbeat comes
from a background task, so it proves that the worker process and its event loop are alive without
every activity having to call `activity.heartbeat()` itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

# Beat three times per heartbeat timeout: one late beat (a busy event loop) is not a timeout.
# Activities shorter than a third of the timeout never heartbeat, so quick calls cost no RPC; the
# SDK throttles the rest to at most one heartbeat per 80% of the timeout.
BEATS_PER_TIMEOUT = 3


class HeartbeatWhileRunning(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _HeartbeatingInbound(next)


class _HeartbeatingInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        timeout = activity.info().heartbeat_timeout
        if not timeout or input.executor is not None:
            # Only async activities share the event loop the beat runs on (all of ours are).
            return await super().execute_activity(input)
        beating = asyncio.create_task(_beat_every(timeout.total_seconds() / BEATS_PER_TIMEOUT))
        try:
            return await super().execute_activity(input)
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating


async def _beat_every(seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        activity.heartbeat()
