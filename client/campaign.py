"""Start many onboardings from a CSV or JSON Lines file: validate every row, then start, paced.

    rows = read_rows(Path("customers.csv"))        # raises InvalidClientInput if unreadable
    plan = plan_campaign(rows)                     # every row validated, duplicates found
    outcomes = await run_campaign(client, target, plan.valid, rate=5.0, on_done=progress)

CSV: a header row of OnboardingRequest field names; an empty cell leaves the field unset (the
model's default); a cell of a nested field (`policy`, `key_health`) holds a JSON object. JSON Lines:
one JSON object per line; blank lines and lines starting with `#` are skipped.
"""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from client.connection import TemporalTarget
from client.errors import AlreadyCompleted, InvalidClientInput, OnboardingClientError
from client.operations import start_onboarding
from models import OnboardingRequest, RequestInvalid, parse_request, workflow_id_for

Outcome = Literal["started", "already_running", "already_completed", "failed"]
# Starts in flight at once; the rate, not this, sets the pace.
MAX_IN_FLIGHT = 8
# Fields whose CSV cell is a JSON object.
_NESTED = frozenset({"policy", "key_health"})


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line of the file where the row starts
    fields: dict[str, Any]


@dataclass(frozen=True)
class InvalidRow:
    line: int
    problems: tuple[tuple[str, str], ...]  # (field, problem)

    def describe(self) -> str:
        return "; ".join(f"{name}: {problem}" for name, problem in self.problems)


@dataclass(frozen=True)
class ValidRow:
    line: int
    request: OnboardingRequest

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.request.customer_tenant_id, self.request.des_name)


@dataclass
class CampaignPlan:
    valid: list[ValidRow] = field(default_factory=list)
    invalid: list[InvalidRow] = field(default_factory=list)


@dataclass(frozen=True)
class RowOutcome:
    line: int
    workflow_id: str
    outcome: Outcome
    detail: str = ""


def read_rows(path: Path, kind: Literal["csv", "jsonl"]) -> list[Row]:
    """The file's rows with their line numbers; an unreadable file is InvalidClientInput."""
    option = f"--from-{kind}"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise InvalidClientInput(f"{option}: cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidClientInput(f"{option}: {path} is not UTF-8 text") from None
    rows = _csv_rows(text, option, path) if kind == "csv" else _jsonl_rows(text)
    if not rows:
        raise InvalidClientInput(f"{option}: {path} holds no rows")
    return rows


def _csv_rows(text: str, option: str, path: Path) -> list[Row]:
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = [h.strip() for h in reader.fieldnames or []]
    if not header or any(not h for h in header):
        raise InvalidClientInput(
            f"{option}: {path} needs a header row of request field names "
            "(customer_tenant_id,customer_name,isv_tenant_id,subscription_id,resource_group,"
            "region,des_name,...)"
        )
    if len(set(header)) != len(header):
        raise InvalidClientInput(f"{option}: {path} repeats a column in its header")
    reader.fieldnames = header
    rows: list[Row] = []
    line = reader.line_num
    for record in reader:
        start, line = line + 1, reader.line_num
        if all(not (v or "").strip() for k, v in record.items() if k is not None):
            continue
        fields: dict[str, Any] = {}
        for name, value in record.items():
            if name is None:  # more cells than columns
                fields["(extra cells)"] = value
                continue
            if value is None or not value.strip():
                continue
            fields[name] = _cell(name, value.strip())
        rows.append(Row(start, fields))
    return rows


def _cell(name: str, value: str) -> Any:
    if name in _NESTED and value.startswith("{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value  # the model names the field and why
    return value


def _jsonl_rows(text: str) -> list[Row]:
    rows: list[Row] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as error:
            value = {"(line)": f"not valid JSON ({error.msg} at column {error.colno})"}
        except RecursionError:
            value = {"(line)": "nests arrays or objects too deeply to be a request"}
        if not isinstance(value, dict):
            value = {"(line)": "must be one JSON object"}
        rows.append(Row(number, value))
    return rows


def plan_campaign(rows: list[Row]) -> CampaignPlan:
    """Validate every row before anything starts; the same customer and DES twice is invalid."""
    plan = CampaignPlan()
    first_line: dict[str, int] = {}
    for row in rows:
        structural = [(k, str(v)) for k, v in row.fields.items() if k.startswith("(")]
        if structural:
            plan.invalid.append(InvalidRow(row.line, tuple(structural)))
            continue
        try:
            request = parse_request(row.fields)
        except RequestInvalid as invalid:
            plan.invalid.append(InvalidRow(row.line, tuple(invalid.problems)))
            continue
        valid = ValidRow(row.line, request)
        if (seen := first_line.get(valid.workflow_id)) is not None:
            plan.invalid.append(
                InvalidRow(
                    row.line,
                    (
                        (
                            "customer_tenant_id+des_name",
                            f"same customer and encryption set as line {seen}; remove one",
                        ),
                    ),
                )
            )
            continue
        first_line[valid.workflow_id] = row.line
        plan.valid.append(valid)
    return plan


async def run_campaign(
    client: Any,
    target: TemporalTarget,
    rows: list[ValidRow],
    *,
    rate: float,
    on_done: Callable[[RowOutcome], None] | None = None,
) -> list[RowOutcome]:
    """Start each row at most `rate` per second; running and completed ones are only reported."""
    if rate <= 0:
        raise InvalidClientInput("--rate: must be more than 0 starts per second")
    limit = asyncio.Semaphore(MAX_IN_FLIGHT)
    began = time.monotonic()

    async def one(index: int, row: ValidRow) -> RowOutcome:
        # Paced by start time, not by completion: a slow answer does not slow the schedule.
        await asyncio.sleep(max(0.0, began + index / rate - time.monotonic()))
        async with limit:
            try:
                started = await start_onboarding(client, target, row.request)
            except AlreadyCompleted as done:
                outcome = RowOutcome(row.line, row.workflow_id, "already_completed", str(done))
            except OnboardingClientError as error:
                outcome = RowOutcome(row.line, row.workflow_id, "failed", str(error))
            else:
                kind: Outcome = "started" if started.started else "already_running"
                outcome = RowOutcome(row.line, row.workflow_id, kind)
        if on_done is not None:
            on_done(outcome)
        return outcome

    return list(await asyncio.gather(*(one(i, r) for i, r in enumerate(rows))))


def summary(outcomes: list[RowOutcome], invalid: int) -> dict[str, int]:
    counts = {"started": 0, "already_running": 0, "already_completed": 0, "failed": 0}
    for outcome in outcomes:
        counts[outcome.outcome] += 1
    return counts | {"invalid": invalid}
