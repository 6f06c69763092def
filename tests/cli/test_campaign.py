"""`starter.py start --from-csv/--from-jsonl`: every row validated first, paced starts, running
and completed onboardings reported instead of started, a summary; and `list`'s counts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from client.campaign import plan_campaign, read_rows
from tests.cli.requests import request_fields
from tests.cli.test_with_fake_worker import KEY_URL, FakeStack, fake_stack

__all__ = ["fake_stack"]  # the fixture, imported so pytest finds it here


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = list(request_fields()) + ["key_health"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


async def test_csv_campaign_validates_first_then_starts_the_rest(
    fake_stack: FakeStack, tmp_path: Path
) -> None:
    """Invalid rows (a bad field, a duplicate) stop the campaign with exit 2 and their line
    numbers; with --skip-invalid the new rows start, the running and completed ones are reported,
    and the summary counts each kind. `list` then counts per stage and health."""
    completed = request_fields()
    completed_id = await fake_stack.start(completed)
    await fake_stack.wait_for_stage(completed_id, "awaiting-customer")
    assert (await fake_stack.cli("complete", "-w", completed_id, "--key-url", KEY_URL)).code == 0
    await fake_stack.wait_for_stage(completed_id, "completed")
    running = request_fields()
    running_id = await fake_stack.start(running)
    new = [request_fields(), request_fields()]
    bad = request_fields() | {"region": "westeurope"}
    rows = [completed, running, new[0], new[1], dict(new[0]), bad]
    campaign = _write_csv(tmp_path / "customers.csv", rows)

    refused = await fake_stack.cli("start", "--from-csv", str(campaign))
    assert refused.code == 2, refused.stdout + refused.stderr
    assert "line 6: customer_tenant_id+des_name: same customer and encryption set as line 4" in (
        refused.stderr
    )
    assert "line 7: region: 'westeurope' does not support" in refused.stderr
    assert "nothing was started" in refused.stderr
    new_id = f"cmk-onboarding-{new[0]['customer_tenant_id']}-{new[0]['des_name']}"
    assert (await fake_stack.cli("status", "-w", new_id)).code == 4

    done = await fake_stack.cli(
        "start", "--from-csv", str(campaign), "--skip-invalid", "--rate", "20", "--json"
    )
    assert done.code == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["summary"] == {
        "started": 2,
        "already_running": 1,
        "already_completed": 1,
        "failed": 0,
        "invalid": 2,
    }
    by_line = {row["line"]: row for row in result["rows"]}
    assert by_line[2]["outcome"] == "already_completed"
    assert by_line[2]["workflow_id"] == completed_id
    assert (by_line[3]["outcome"], by_line[3]["workflow_id"]) == ("already_running", running_id)
    assert [by_line[n]["outcome"] for n in (4, 5, 6, 7)] == ["started", "started"] + ["invalid"] * 2
    await fake_stack.wait_for_stage(new_id, "awaiting-customer")

    again = await fake_stack.cli("start", "--from-csv", str(campaign), "--skip-invalid")
    assert again.code == 0, again.stderr
    assert "summary: started 0, already running 3, already completed 1, failed 0, invalid 2" in (
        again.stdout
    )

    listed = await fake_stack.cli("list")
    assert listed.code == 0, listed.stderr
    assert "awaiting-customer" in listed.stdout
    per_stage = next(line for line in listed.stdout.splitlines() if line.startswith("per stage"))
    assert "completed" in per_stage
    per_health = next(line for line in listed.stdout.splitlines() if line.startswith("per health"))
    assert "healthy" in per_health


async def test_campaign_file_with_request_flags_is_refused(
    fake_stack: FakeStack, tmp_path: Path
) -> None:
    """Per-row fields live in the file: mixing in request flags is a usage error (exit 2)."""
    campaign = _write_csv(tmp_path / "one.csv", [request_fields()])
    mixed = await fake_stack.cli("start", "--from-csv", str(campaign), "--region", "eastus")
    assert mixed.code == 2
    assert "--region: not allowed with a campaign file" in mixed.stderr


def test_jsonl_rows_keep_their_line_numbers(tmp_path: Path) -> None:
    """JSON Lines: blank and # lines skipped; broken JSON and non-objects are invalid rows that
    name their line; a nested key_health object is validated field by field."""
    good = request_fields()
    lines = [
        json.dumps(good),
        "",
        "# a comment",
        "{not json",
        "[1, 2]",
        json.dumps(request_fields() | {"key_health": {"check_interval": "PT0S"}}),
    ]
    path = tmp_path / "customers.jsonl"
    path.write_text("\n".join(lines) + "\n")
    plan = plan_campaign(read_rows(path, "jsonl"))
    assert [v.line for v in plan.valid] == [1]
    problems = {row.line: row.describe() for row in plan.invalid}
    assert set(problems) == {4, 5, 6}
    assert "not valid JSON" in problems[4]
    assert "must be one JSON object" in problems[5]
    assert problems[6].startswith("key_health.check_interval:")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "needs a header row"),
        ("customer_tenant_id,region\n", "holds no rows"),
        ("customer_tenant_id,,region\n1,2,3\n", "needs a header row"),
        ("region,region\neastus,eastus\n", "repeats a column"),
    ],
)
def test_unusable_csv_names_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(Exception, match=message):
        read_rows(path, "csv")
