"""The figures as plain-text tables."""

from __future__ import annotations

from typing import Any


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    cells = [header, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render(figures: dict[str, Any]) -> str:
    out = [f"{figures['command']}   ({figures['date']}, {figures['cpus']} CPUs)"]
    if figures.get("worker_env"):
        out.append(f"worker env: {figures['worker_env']}")
    minimum = figures["minimum_per_onboarding"]
    rows = []
    for run in figures.get("throughput", []):
        ours, floor = run["ours"], run.get("floor", {})
        calls = run["azure_per_onboarding"]
        rows.append(
            [
                run["size"],
                ours["per_second"],
                floor.get("per_second", "-"),
                run.get("ratio_to_floor", "-"),
                ours["latency_p50_s"],
                ours["latency_p95_s"],
                f"{calls['writes']:g}/{minimum['writes']}",
                f"{calls['reads_without_lro_polls']:g}/{minimum['reads']}+{calls['lro_polls']:g}",
                run["history_events"],
                run["worker_peak_rss_mb"],
                ours["failed"],
            ]
        )
    header = [
        "N",
        "ours/s",
        "floor/s",
        "ratio",
        "p50 s",
        "p95 s",
        "writes/min",
        "reads/min+polls",
        "events",
        "peak MB",
        "failed",
    ]
    out += [
        "",
        "Throughput (customer answers at once; Azure calls per onboarding)",
        markdown_table(header, rows),
    ]
    if first := figures.get("first_onboarding"):
        out.append(
            f"First onboarding of the ISV: {first['writes']} writes, {first['reads']} reads; of "
            f"the writes {first['once_per_isv_writes']} are once per ISV (shared identity, "
            f"feature; minimum {first['once_per_isv_writes_minimum']}), amortised over each run"
        )
    history = figures.get("history_events", {})
    out += [
        "",
        "History events per onboarding (target <= {target}): happy path {hp}, with feature "
        "registration {reg}, 30-day wait with reminders {wait}".format(
            target=history.get("target"),
            hp=history.get("happy_path", "-"),
            reg=history.get("with_feature_registration", "-"),
            wait=history.get("thirty_day_wait", "-"),
        ),
    ]
    if parked := figures.get("parked"):
        out.append(
            f"Parked: {parked['size']} onboardings waiting: worker RSS {parked['rss_mb']} MB "
            f"(peak {parked['peak_rss_mb']} MB), CPU {parked['cpu_percent']}% of a core over "
            f"{parked['window_s']:g} s"
        )
    if throttled := figures.get("throttled"):
        out.append(
            f"Throttled: {throttled['size']} onboardings against Azure's limits x"
            f"{throttled['time_scale']:g} (DiskRP 99 DES/3 min, 289 DES/30 min; ARM buckets), "
            f"AZURE_DES_WRITES_PER_SECOND={throttled.get('azure_des_writes_per_second', 0):g}, "
            f"AZURE_WRITES_PER_SECOND={throttled['azure_writes_per_second']:g} (defaults x"
            f"{throttled['time_scale']:g}): {throttled['des_creates']} DES creates at "
            f"{throttled['des_per_second']}/s = "
            f"{100 * throttled['share_of_binding_limit']:.1f}% of the binding limit "
            f"({throttled['binding_des_per_second']}/s), {throttled['throttled_429']} 429s "
            f"({throttled['des_429']} on DES) = {100 * throttled['share_429_of_writes']:.2f}% of "
            f"{throttled['writes']} writes, {throttled['run']['elapsed_s']} s"
        )
        if gaps := throttled.get("des_gap_s"):
            out.append(
                f"  seconds between DES creates: p50 {gaps['p50']}, p90 {gaps['p90']}, "
                f"max {gaps['max']}"
            )
    return "\n".join(out)
