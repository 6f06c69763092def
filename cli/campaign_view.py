"""`starter.py start --from-csv/--from-jsonl`: validate every row, start paced, print a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.errors import CliError, ExitCode
from client import campaign
from client.connection import TemporalTarget, connect
from client.errors import InvalidClientInput

DEFAULT_RATE = 5.0
_LABELS = {
    "started": "started",
    "already_running": "already running",
    "already_completed": "already completed",
    "invalid": "invalid",
    "failed": "failed",
}


def describe_invalid(rows: list[campaign.InvalidRow], path: Path) -> str:
    lines = [f"{path}: {len(rows)} invalid row(s):"]
    for row in rows:
        # The field is the file's column (CSV) or key (JSON Lines), not a flag.
        lines += [f"  line {row.line}: {name}: {problem}" for name, problem in row.problems]
    return "\n".join(lines)


async def start_campaign(
    target: TemporalTarget,
    path: Path,
    kind: Literal["csv", "jsonl"],
    *,
    rate: float,
    skip_invalid: bool,
    as_json: bool,
    out: Console,
    err: Console,
) -> tuple[dict[str, Any], ExitCode]:
    """The summary (and per-row outcomes) and the exit code: 2 if rows were invalid and not
    skipped (nothing started), 1 if a start failed, else 0."""
    if rate <= 0:
        raise CliError("--rate: must be more than 0 starts per second", ExitCode.BAD_INPUT)
    try:
        plan = campaign.plan_campaign(campaign.read_rows(path, kind))
    except InvalidClientInput as error:
        raise CliError(str(error), ExitCode.BAD_INPUT) from None
    if plan.invalid:
        message = describe_invalid(plan.invalid, path)
        if not skip_invalid:
            raise CliError(
                message + "\nnothing was started; fix the rows, or pass --skip-invalid to start "
                "the valid ones",
                ExitCode.BAD_INPUT,
            )
        err.print(message + "\nskipped (--skip-invalid)", markup=False, highlight=False)
    client = await connect(target)
    progress = Progress(
        TextColumn("[bold]starting[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    )
    counts = dict.fromkeys(("started", "already_running", "already_completed", "failed"), 0)
    with progress:
        task = progress.add_task("start", total=len(plan.valid), counts="")

        def done(outcome: campaign.RowOutcome) -> None:
            counts[outcome.outcome] += 1
            shown = ", ".join(f"{_LABELS[k]} {v}" for k, v in counts.items() if v)
            progress.update(task, advance=1, counts=shown)

        outcomes = await campaign.run_campaign(client, target, plan.valid, rate=rate, on_done=done)
    totals = campaign.summary(outcomes, len(plan.invalid))
    result = {
        "summary": totals,
        "rows": [o.__dict__ for o in sorted(outcomes, key=lambda o: o.line)]
        + [{"line": r.line, "outcome": "invalid", "detail": r.describe()} for r in plan.invalid],
    }
    if not as_json:
        _print_summary(out, outcomes, totals)
    return result, ExitCode.FAILED if totals["failed"] else ExitCode.OK


def _print_summary(
    out: Console, outcomes: list[campaign.RowOutcome], totals: dict[str, int]
) -> None:
    notable = [o for o in outcomes if o.outcome != "started"]
    if notable:
        table = Table("line", "workflow id", "outcome", "detail", title="Not started")
        for o in sorted(notable, key=lambda o: o.line):
            table.add_row(str(o.line), o.workflow_id, _LABELS[o.outcome], o.detail)
        out.print(table)
    out.print(
        "summary: " + ", ".join(f"{_LABELS[k]} {v}" for k, v in totals.items()),
        highlight=False,
    )
