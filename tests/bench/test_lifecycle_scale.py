"""bench.lifecycle_scale end to end at a tiny size: every step parks its onboardings and watches
on one real worker.py, and the figures are reported (memory is printed, never asserted)."""

from __future__ import annotations

from pathlib import Path

from bench.lifecycle_scale import collect, parse_args, render


async def test_steps_park_onboardings_and_watches(tmp_path: Path) -> None:
    args = parse_args(["--steps", "3,6", "--window", "0.5", "--within", "300"])
    args.workdir = tmp_path
    figures = await collect(args)
    steps = [(s["parked_onboardings"], s["watches"]) for s in figures["steps"]]
    # The warm-up onboarding completed and started its own, real watch: one more than parked.
    assert steps == [(3, 4), (6, 7)]
    assert all(s["rss_mb"] > 0 for s in figures["steps"])
    assert "parked onboardings" in render(figures)
