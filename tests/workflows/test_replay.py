"""Recorded histories still replay against the current workflow code (no non-determinism)."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from harness.fake_onboarding import HISTORIES
from workflows import WORKFLOWS
from workflows.sandbox import sandboxed_runner

RECORDED = {path.stem: path.read_text() for path in sorted(HISTORIES.glob("*.json"))}
REQUIRED = {
    "happy_path",
    "loop_back_no_role",
    "deadline_with_compensation",
    "cancelled_during_creating-encryption-set",
    "key_health_watch_broken_then_cleared",
    "key_health_watch_key_change_rolled_back",
    "key_health_watch_stopped_by_offboarding_shared",
    "offboarding_isolated",
}


def test_every_required_scenario_is_recorded() -> None:
    """The replay set covers the onboarding's happy path, a loop-back, the deadline and a
    cancellation, the key-health watch (a fault found and cleared, a key change rolled back,
    stopped by an offboarding) and an offboarding."""
    assert set(RECORDED) >= REQUIRED


@pytest.mark.parametrize("name", sorted(RECORDED))
async def test_recorded_history_replays(name: str) -> None:
    """Replaying a recorded history issues the same commands as when it was recorded."""
    history = WorkflowHistory.from_json(name, RECORDED[name])
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=pydantic_data_converter,
        workflow_runner=sandboxed_runner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{name}: {result.replay_failure}"
