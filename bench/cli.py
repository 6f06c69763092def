"""`uv run python -m bench`: start (or attach to) the stack, run the scenarios, print figures."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any

from bench import azure_calls, scenarios
from bench.driver import RunResult, percentile
from bench.long_wait import thirty_day_wait_events
from bench.report import render
from bench.stack import BenchStack

# Events per onboarding's history. Was 80 (70 measured); the guards added since (worker policy,
# vault tenant, earlier completed run: one activity each), the key-health watch's child start and
# one marker per workflow.patched() brought the happy path to about 110. Replay of that many takes
# milliseconds; Temporal's own warning is at 10,240 events.
HISTORY_TARGET = 120


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", default="100,300,1000", help="concurrent onboardings per run")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor workflow")
    parser.add_argument(
        "--parked", type=int, default=1000, help="onboardings left waiting (0: skip)"
    )
    parser.add_argument(
        "--throttled",
        type=int,
        default=300,
        help="onboardings against Azure's limits with the default write pace (0: skip)",
    )
    parser.add_argument(
        "--throttled-scale",
        type=float,
        default=30.0,
        help="how many times faster than Azure the throttled run's limits and pace run",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1000.0,
        help="the same for the throughput and parked runs (Azure's model, far from binding)",
    )
    parser.add_argument("--parked-window", type=float, default=10.0, help="seconds of CPU sampling")
    parser.add_argument("--no-long-wait", action="store_true", help="skip the 30-day history")
    parser.add_argument("--within", type=float, default=1800.0, help="seconds allowed per run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--workdir", type=Path, default=Path(".bench"), help="logs and state")
    parser.add_argument(
        "--temporal-address",
        default=os.environ.get("BENCH_TEMPORAL_ADDRESS"),
        help="use this Temporal server instead of starting a dev server",
    )
    parser.add_argument(
        "--emulator-url",
        default=os.environ.get("BENCH_EMULATOR_URL"),
        help="use this emulator instead of starting one (with --emulator-ca)",
    )
    parser.add_argument(
        "--emulator-ca", type=Path, default=os.environ.get("BENCH_EMULATOR_CA"), help="its ca.pem"
    )
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the worker processes (e.g. MAX_CONCURRENT_ACTIVITIES=200)",
    )
    args = parser.parse_args(argv)
    if args.emulator_url and not args.emulator_ca:
        parser.error("--emulator-url needs --emulator-ca")
    return args


def _run_figures(result: RunResult) -> dict[str, Any]:
    latencies = result.latencies()
    return {
        "completed": len(result.closed_at) - len(result.failed),
        "failed": len(result.failed),
        "elapsed_s": round(result.elapsed, 2),
        "per_second": round(result.throughput, 2),
        "latency_p50_s": round(percentile(latencies, 0.50), 3),
        "latency_p95_s": round(percentile(latencies, 0.95), 3),
    }


def _calls_figures(calls: azure_calls.AzureCalls, count: int) -> dict[str, Any]:
    return {k: round(v, 2) for k, v in calls.per_onboarding(count).items()} | {
        "by_call": dict(sorted(calls.by_call.items()))
    }


async def collect(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    overrides = dict(item.split("=", 1) for item in args.worker_env)
    stack = await BenchStack.open(
        args.workdir,
        temporal_address=args.temporal_address,
        emulator_url=args.emulator_url,
        emulator_ca=args.emulator_ca,
        worker_overrides=overrides,
    )
    await stack.scale_time(args.time_scale)
    figures: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["uv run python -m bench", *(sys.argv[1:])]),
        "cpus": os.cpu_count(),
        "worker_env": overrides,
        "time_scale": args.time_scale,
        "minimum_per_onboarding": {
            "writes": azure_calls.minimum_writes(),
            "reads": azure_calls.minimum_reads(),
        },
    }
    try:
        worker = await scenarios.start_onboarding_worker(stack, "onboarding")
        shared = worker.shared_calls
        # The first onboarding's calls minus what any onboarding needs: the one-off ISV cost.
        once_writes = shared.writes - azure_calls.minimum_writes()
        figures["first_onboarding"] = {
            "writes": shared.writes,
            "reads": shared.reads,
            "once_per_isv_writes": once_writes,
            "once_per_isv_writes_minimum": azure_calls.once_per_isv_writes(),
            "by_call": dict(sorted(shared.by_call.items())),
        }
        figures["history_events"] = {
            "target": HISTORY_TARGET,
            "with_feature_registration": worker.registration_events,
        }
        floor_queue = None
        if not args.no_floor:
            _, floor_queue = await stack.start_worker("floor", worker.isv, floor=True)
        runs = []
        for size in sizes:
            ours, calls, events = await scenarios.run_onboardings(
                stack, worker, size, within=args.within
            )
            row: dict[str, Any] = {"size": size, "ours": _run_figures(ours)}
            if floor_queue is not None:
                floor = await scenarios.run_floor(stack, floor_queue, size, within=args.within)
                row["floor"] = _run_figures(floor)
                row["ratio_to_floor"] = (
                    round(ours.throughput / floor.throughput, 2) if floor.throughput else None
                )
            row["azure_per_onboarding"] = _calls_figures(calls, size)
            # Spread over this run and the first onboarding, which paid it.
            row["once_per_isv_writes_amortised"] = round(once_writes / (size + 1), 3)
            row["history_events"] = events
            row["worker_peak_rss_mb"] = round(scenarios.peak_rss(worker), 1)
            figures["history_events"]["happy_path"] = events
            runs.append(row)
        figures["throughput"] = runs
        stack.stop_worker(worker.process)
        if not args.no_long_wait:
            figures["history_events"]["thirty_day_wait"] = await thirty_day_wait_events()
        if args.parked:
            parked = await scenarios.run_parked(
                stack, args.parked, window=args.parked_window, within=args.within
            )
            figures["parked"] = {
                "size": parked.size,
                "rss_mb": round(parked.rss_mb, 1),
                "peak_rss_mb": round(parked.peak_rss_mb, 1),
                "cpu_percent": round(parked.cpu_percent, 2),
                "window_s": parked.window,
            }
        if args.throttled:
            throttled = await scenarios.run_throttled(
                stack, args.throttled, time_scale=args.throttled_scale, within=args.within
            )
            figures["throttled"] = {
                "size": throttled.size,
                "time_scale": throttled.time_scale,
                "azure_writes_per_second": throttled.writes_per_second,
                "azure_des_writes_per_second": throttled.des_writes_per_second,
                "writes": throttled.calls.writes,
                "des_creates": throttled.des_creates,
                "des_per_second": round(throttled.des_per_second, 3),
                "binding_des_per_second": round(throttled.binding_des_per_second, 3),
                "share_of_binding_limit": round(throttled.share_of_binding_limit, 3),
                "throttled_429": throttled.throttled_429,
                "des_429": throttled.des_429,
                "share_429_of_writes": round(throttled.throttled_share_of_writes, 4),
                "des_gap_s": _gap_figures(throttled.des_gaps),
                "run": _run_figures(throttled.result),
            }
    finally:
        await stack.close()
    return figures


def _gap_figures(gaps: tuple[float, ...]) -> dict[str, float]:
    if not gaps:
        return {}
    ordered = sorted(gaps)
    return {
        "p50": round(percentile(ordered, 0.5), 3),
        "p90": round(percentile(ordered, 0.9), 3),
        "max": round(ordered[-1], 3),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = asyncio.run(collect(args))
    print(json.dumps(figures, indent=2) if args.json else render(figures))
    return 0
