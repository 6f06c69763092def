"""`uv run python -m bench.sandbox_cost`: the workflow sandbox's cost, on and off side by side.

One stack, and for each setting of WORKFLOW_SANDBOX its own worker.py processes: a burst of
onboardings whose customers answer at once (throughput, p95, peak RSS), then onboardings parked
waiting for their customers (RSS, and RSS per cached workflow over the warmed-up worker).
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

from bench import scenarios
from bench.driver import percentile
from bench.report import markdown_table
from bench.stack import BenchStack
from config.settings import WorkerSettings

MODES = ("off", "on")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sandbox_cost", description=__doc__)
    parser.add_argument("--burst", type=int, default=100, help="onboardings answered at once")
    parser.add_argument("--parked", type=int, default=1000, help="onboardings left waiting")
    parser.add_argument("--parked-window", type=float, default=10.0, help="seconds of CPU sampling")
    parser.add_argument("--within", type=float, default=1800.0, help="seconds allowed per run")
    parser.add_argument("--workdir", type=Path, default=Path(".bench-sandbox"))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--worker-env", action="append", default=[], metavar="NAME=VALUE", help="for both modes"
    )
    return parser.parse_args(argv)


async def _measure(stack: BenchStack, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    extra = {"WORKFLOW_SANDBOX": mode}
    worker = await scenarios.start_onboarding_worker(stack, f"burst-sandbox-{mode}", extra)
    burst, _, _ = await scenarios.run_onboardings(stack, worker, args.burst, within=args.within)
    peak = scenarios.peak_rss(worker)
    stack.stop_worker(worker.process)
    parked = await scenarios.run_parked(
        stack, args.parked, window=args.parked_window, within=args.within, extra=extra
    )
    cache = int(
        stack.worker_overrides.get("MAX_CACHED_WORKFLOWS", WorkerSettings.max_cached_workflows)
    )
    cached = min(args.parked, cache)
    return {
        "sandbox": mode,
        "burst": args.burst,
        "per_second": round(burst.throughput, 2),
        "latency_p95_s": round(percentile(burst.latencies(), 0.95), 3),
        "failed": len(burst.failed),
        "burst_peak_rss_mb": round(peak, 1),
        "parked": parked.size,
        "parked_rss_mb": round(parked.rss_mb, 1),
        "warm_rss_mb": round(parked.warm_rss_mb, 1),
        "cached_workflows": cached,
        "kb_per_cached_workflow": round(1024 * (parked.rss_mb - parked.warm_rss_mb) / cached),
        "parked_cpu_percent": round(parked.cpu_percent, 2),
    }


async def collect(args: argparse.Namespace) -> dict[str, Any]:
    overrides = dict(item.split("=", 1) for item in args.worker_env)
    stack = await BenchStack.open(args.workdir, worker_overrides=overrides)
    figures: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["uv run python -m bench.sandbox_cost", *(sys.argv[1:])]),
        "cpus": os.cpu_count(),
        "worker_env": overrides,
    }
    try:
        figures["modes"] = [await _measure(stack, mode, args) for mode in MODES]
    finally:
        await stack.close()
    return figures


def render(figures: dict[str, Any]) -> str:
    header = [
        "sandbox", "burst", "ours/s", "p95 s", "failed", "peak MB",
        "parked", "RSS MB", "warm MB", "cached", "KB/cached", "CPU %",
    ]  # fmt: skip
    rows = [
        [
            m["sandbox"],
            m["burst"],
            m["per_second"],
            m["latency_p95_s"],
            m["failed"],
            m["burst_peak_rss_mb"],
            m["parked"],
            m["parked_rss_mb"],
            m["warm_rss_mb"],
            m["cached_workflows"],
            m["kb_per_cached_workflow"],
            m["parked_cpu_percent"],
        ]  # fmt: skip
        for m in figures["modes"]
    ]
    title = f"{figures['command']}   ({figures['date']}, {figures['cpus']} CPUs)"
    env = f"\nworker env: {figures['worker_env']}" if figures["worker_env"] else ""
    return f"{title}{env}\n\n{markdown_table(header, rows)}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = asyncio.run(collect(args))
    print(json.dumps(figures, indent=2) if args.json else render(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
