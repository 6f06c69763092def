"""The benchmark harness end to end with a few onboardings: the deterministic figures only.

Real dev server, emulator and worker.py; Azure calls and history sizes are asserted, never a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import azure_calls
from bench.cli import HISTORY_TARGET, collect, parse_args

SIZE = 3


@pytest.fixture(scope="module")
async def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir: Path = tmp_path_factory.mktemp("bench")
    args = parse_args(
        ["--sizes", str(SIZE), "--parked", "0", "--throttled", "0", "--workdir", str(workdir)]
    )
    return await collect(args)


def test_every_onboarding_and_floor_run_completes(figures: dict[str, Any]) -> None:
    """N onboardings and N floor workflows complete; the ratio to the floor is reported."""
    (run,) = figures["throughput"]
    assert (run["size"], run["ours"]["completed"], run["ours"]["failed"]) == (SIZE, SIZE, 0)
    assert run["floor"]["completed"] == SIZE
    assert run["ratio_to_floor"] is not None


def test_azure_calls_per_onboarding_are_the_documented_minimum(figures: dict[str, Any]) -> None:
    """Writes equal the minimum exactly; reads are the minimum plus long-running-operation polls."""
    calls = figures["throughput"][0]["azure_per_onboarding"]
    assert calls["writes"] == azure_calls.minimum_writes()
    assert calls["reads_without_lro_polls"] == azure_calls.minimum_reads()
    assert calls["throttled"] == 0
    per_call = {name: count / SIZE for name, count in calls["by_call"].items()}
    polls = per_call.pop(f"GET {azure_calls.LRO_POLL}", 0)
    assert polls == calls["lro_polls"]
    assert per_call == azure_calls.MINIMUM_WRITES | azure_calls.MINIMUM_READS


def test_first_onboarding_creates_the_shared_identity_once(figures: dict[str, Any]) -> None:
    """App, managed identity, federated credential, feature and provider: one write each."""
    first = figures["first_onboarding"]
    assert first["once_per_isv_writes"] == azure_calls.once_per_isv_writes()
    once = azure_calls.SHARED_WRITES | azure_calls.FEATURE_WRITES
    writes = {name: n for name, n in first["by_call"].items() if name.split()[0] != "GET"}
    assert writes == once | azure_calls.MINIMUM_WRITES


def test_history_sizes_are_within_target(figures: dict[str, Any]) -> None:
    """Happy path and feature-registration path stay within 80 events; the long wait is counted."""
    history = figures["history_events"]
    assert history["happy_path"] <= HISTORY_TARGET
    assert history["with_feature_registration"] <= HISTORY_TARGET
    assert history["thirty_day_wait"] > 0
