"""Wait on an Azure long-running operation while heartbeating, so Temporal sees a live worker."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from azure.core.polling import AsyncLROPoller
from temporalio import activity

T = TypeVar("T")

HEARTBEAT_EVERY = 5.0


async def wait_heartbeating(poller: AsyncLROPoller[T], what: str) -> T:
    """The poller's result; heartbeats while waiting; cancelling the activity stops polling."""
    result = asyncio.ensure_future(poller.result())
    try:
        while True:
            done, _ = await asyncio.wait({result}, timeout=HEARTBEAT_EVERY)
            if done:
                return result.result()
            if activity.in_activity():
                activity.heartbeat(what)
    finally:
        if not result.done():
            result.cancel()
