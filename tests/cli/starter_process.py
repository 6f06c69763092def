"""Run `starter.py` as a user would: a child process, its exit code, stdout and stderr."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str


async def run_starter(*args: str, env: dict[str, str] | None = None, within: float = 120) -> CliRun:
    """`python starter.py *args` without blocking the event loop (the emulator may share it)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO_ROOT / "starter.py"),
        *args,
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), within)
    assert process.returncode is not None
    return CliRun(process.returncode, stdout.decode(), stderr.decode())
