"""The time-skipping Temporal environment for the workflow tests (the dev-server one, `dev_env`,
is shared from tests/conftest.py); the onboarding helpers they drive (fake Azure, `running`,
`make_request`) are in harness/fake_onboarding.py."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from harness.fake_onboarding import add_search_attributes


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """One time-skipping server per module: a test that times out mid-wait leaves the server's
    time-skipping lock in an unknown state, which must not stall every later module's timers."""
    server = shutil.which("temporal-test-server")
    assert server, "temporal-test-server is missing: run `uv sync`"
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server, data_converter=pydantic_data_converter
    )
    await add_search_attributes(environment.client)
    yield environment
    await environment.shutdown()
