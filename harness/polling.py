"""Wait for a condition by polling it, instead of sleeping a fixed time (tests, bench, demo)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def assert_eventually(
    check: Callable[[], Awaitable[T]],
    within: float = 10.0,
    message: str = "",
    interval: float = 0.05,
) -> T:
    """Poll `check` until it returns something other than False without raising AssertionError,
    and return that; after `within` seconds re-raise its last AssertionError, or fail with
    `message`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            result = await check()
        except AssertionError:
            if loop.time() > deadline:
                raise
        else:
            if result is not False:
                return result
            assert loop.time() <= deadline, message or "condition not met in time"
        await asyncio.sleep(interval)
