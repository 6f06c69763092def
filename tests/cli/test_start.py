"""`starter.py start`: validation before contact, id conflict handling, search attributes."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client

from harness.local_stack import DevServer
from models import workflow_id_for
from tests.cli.requests import as_flags, request_fields
from tests.cli.starter_process import run_starter


async def _workflow_count(server: DevServer) -> int:
    client = await Client.connect(server.address)
    return (await client.count_workflows()).count


async def test_bad_input_names_every_field_and_starts_nothing(
    cli_server: DevServer, cli_env: dict[str, str]
) -> None:
    """Invalid fields exit 2 with one line per field and its flag; no workflow is started."""
    before = await _workflow_count(cli_server)
    fields = request_fields() | {"customer_tenant_id": "not-a-guid", "des_name": "bad name!"}
    del fields["customer_name"]
    result = await run_starter("start", *as_flags(fields), env=cli_env)
    assert result.code == 2
    assert "nothing was started" in result.stderr
    assert "customer_tenant_id (--customer-tenant-id): must be a GUID" in result.stderr
    assert "des_name (--des-name): must be 1-80 characters" in result.stderr
    assert "customer_name (--customer-name): is required" in result.stderr
    assert "Traceback" not in result.stderr
    assert await _workflow_count(cli_server) == before


async def test_policy_violations_exit_2_naming_region_and_sku(cli_env: dict[str, str]) -> None:
    """An unsupported region and an Ultra disk SKU are refused with the supported choices."""
    fields = request_fields() | {"region": "westeurope", "disk_sku": "UltraSSD_LRS"}
    result = await run_starter("start", *as_flags(fields), env=cli_env)
    assert result.code == 2
    assert "region (--region): 'westeurope' does not support" in result.stderr
    assert "eastus" in result.stderr
    assert "disk_sku (--disk-sku): 'UltraSSD_LRS' cannot use" in result.stderr


async def test_invalid_json_file_exits_2(tmp_path: Path, dead_address: str) -> None:
    """A malformed --from-json file is bad input, reported before Temporal is contacted."""
    broken = tmp_path / "request.json"
    broken.write_text("{not json")
    result = await run_starter("--address", dead_address, "start", "--from-json", str(broken))
    assert result.code == 2
    assert result.stderr.strip().startswith(f"error: --from-json: {broken} is not valid JSON")


async def test_flags_override_json_file(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """Fields come from --from-json, and a flag given as well wins."""
    fields = request_fields() | {"des_name": "from-file"}
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(fields))
    result = await run_starter(
        "start", "--from-json", str(request_file), "--des-name", "from-flag", "--json", env=cli_env
    )
    assert result.code == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["workflow_id"] == workflow_id_for(fields["customer_tenant_id"], "from-flag")
    assert outcome["started"] is True


async def test_second_start_attaches_to_the_running_onboarding(cli_env: dict[str, str]) -> None:
    """Starting the same customer and DES twice reuses the first run and says so."""
    flags = as_flags(request_fields())
    first = await run_starter("start", *flags, "--json", env=cli_env)
    second = await run_starter("start", *flags, "--json", env=cli_env)
    third = await run_starter("start", *flags, env=cli_env)
    assert first.code == second.code == third.code == 0, first.stderr + second.stderr
    first_run, second_run = json.loads(first.stdout), json.loads(second.stdout)
    assert first_run["started"] is True
    assert second_run["started"] is False
    assert second_run["run_id"] == first_run["run_id"]
    assert "attached to the running onboarding" in third.stdout


async def test_list_json_shows_search_attributes_set_at_start(cli_env: dict[str, str]) -> None:
    """`list --stage validating --json` finds a fresh start through its CmkStage attribute."""
    fields = request_fields()
    started = await run_starter("start", *as_flags(fields), "--json", env=cli_env)
    assert started.code == 0, started.stderr
    workflow_id = json.loads(started.stdout)["workflow_id"]

    listed = await run_starter("list", "--stage", "validating", "--json", env=cli_env)
    assert listed.code == 0, listed.stderr
    rows = {row["workflow_id"]: row for row in json.loads(listed.stdout)}
    row = rows[workflow_id]
    assert set(row) == {
        "workflow_id",
        "run_id",
        "status",
        "stage",
        "customer_tenant_id",
        "customer_name",
        "start_time",
        "close_time",
    }
    assert row["stage"] == "validating"
    assert row["status"] == "RUNNING"
    assert row["customer_tenant_id"] == fields["customer_tenant_id"]
    assert row["customer_name"] == "Contoso"

    elsewhere = await run_starter("list", "--stage", "completed", "--json", env=cli_env)
    assert workflow_id not in {row["workflow_id"] for row in json.loads(elsewhere.stdout)}
