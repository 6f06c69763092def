"""History size of a 30-day wait with 2-day reminders, on the time-skipping test server.

Thirty days cannot pass on a real dev server during a benchmark, so this one figure runs the real
workflow against the workflow tests' fake activities, where a month takes well under a second.
"""

from __future__ import annotations

import contextlib
import shutil

from temporalio.client import WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from harness.fake_onboarding import add_search_attributes, running


async def thirty_day_wait_events() -> int:
    """Events of an onboarding whose customer never answers: 14 reminders, then the deadline."""
    server = shutil.which("temporal-test-server")
    assert server, "temporal-test-server is missing: run `uv sync`"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server, data_converter=pydantic_data_converter
    )
    try:
        await add_search_attributes(env.client)
        async with running(env, customer_deadline="P30D", reminder_interval="P2D") as onboarding:
            with contextlib.suppress(WorkflowFailureError):  # the deadline: expected
                await onboarding.handle.result()
            return await onboarding.event_count()
    finally:
        await env.shutdown()
