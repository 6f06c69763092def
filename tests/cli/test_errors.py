"""Errors a script can rely on: one line on stderr and a documented exit code, never a traceback."""

from __future__ import annotations

import asyncio

import pytest

from tests.cli.requests import as_flags, request_fields
from tests.cli.starter_process import run_starter

KEY_URL = "https://contosokv.vault.azure.net/keys/disk-key/0123456789abcdef0123456789abcdef"
WORKFLOW_COMMANDS = [
    ["status"],
    ["status", "--json"],
    ["instructions"],
    ["watch"],
    ["cancel"],
    ["complete", "--key-url", KEY_URL],
    ["complete", "--key-url", KEY_URL, "--signal"],
]


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("command", WORKFLOW_COMMANDS, ids=lambda c: " ".join(c[:1] + c[-1:]))
async def test_unknown_workflow_exits_4(command: list[str], cli_env: dict[str, str]) -> None:
    """Every command that takes a workflow id exits 4 with one line for an unknown id."""
    result = await run_starter(command[0], "-w", "cmk-onboarding-nobody", *command[1:], env=cli_env)
    assert result.code == 4
    line = _one_error_line(result.stderr)
    assert "workflow 'cmk-onboarding-nobody' not found in namespace 'default'" in line


@pytest.mark.parametrize(
    "command",
    [
        ["status", "-w", "cmk-onboarding-x"],
        ["list"],
        ["list", "--json"],
        ["cancel", "-w", "cmk-onboarding-x"],
        ["complete", "-w", "cmk-onboarding-x", "--key-url", KEY_URL],
        ["start", *as_flags(request_fields())],
    ],
    ids=lambda c: c[0] + (" --json" if "--json" in c else ""),
)
async def test_server_down_exits_3(command: list[str], dead_address: str) -> None:
    """With no Temporal server listening, every command exits 3 with one line naming the address."""
    result = await run_starter("--address", dead_address, *command)
    assert result.code == 3
    assert f"Temporal is not reachable at {dead_address}" in _one_error_line(result.stderr)


async def test_bad_key_url_is_refused_before_contacting_temporal(dead_address: str) -> None:
    """`complete` checks the key URL locally: exit 2 even though no server is reachable."""
    result = await run_starter(
        "--address", dead_address, "complete", "-w", "x", "--key-url", "https://evil.example/keys/k"
    )
    assert result.code == 2
    assert "is not a Key Vault or Managed HSM host" in _one_error_line(result.stderr)


async def test_unknown_stage_exits_2(dead_address: str) -> None:
    """`list --stage` accepts only real stages and lists them."""
    result = await run_starter("--address", dead_address, "list", "--stage", "waiting")
    assert result.code == 2
    assert "awaiting-customer" in _one_error_line(result.stderr)


async def test_help_documents_exit_codes() -> None:
    """`--help` states every exit code."""
    result = await run_starter("--help")
    assert result.code == 0
    text = " ".join(result.stdout.split())
    for code in ("0 ok", "1 operation failed", "2 bad input", "3 Temporal not reachable"):
        assert code in text
    assert "4 workflow not found" in text


async def test_finished_commands_exit_cleanly(cli_env: dict[str, str]) -> None:
    """A command that talked to Temporal exits 0, not with a crash while the interpreter ends."""
    runs = await asyncio.gather(*(run_starter("list", "--json", env=cli_env) for _ in range(8)))
    assert [run.code for run in runs] == [0] * 8
