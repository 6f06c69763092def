"""`starter.py demo` itself, exactly as the README tells a new user to run it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

from tests.cli.starter_process import REPO_ROOT, run_starter


async def test_demo_completes_and_prints_the_ui_link(tmp_path: Path) -> None:
    """The demo brings up its own stack, onboards a customer, exits 0 and names the UI page."""
    result = await run_starter("demo", "--state-dir", str(tmp_path / "demo"), within=240)
    assert result.code == 0, result.stdout + result.stderr
    assert "completed." in result.stdout
    assert re.search(
        r"http://127\.0\.0\.1:\d+/namespaces/default/workflows/cmk-onboarding-[0-9a-f-]+-contoso-des",
        result.stdout,
    )
    assert "3/5" in result.stdout and "5/5" in result.stdout
    # The scripted customer replied through the setup page's form, not the Temporal API.
    assert re.search(r"setup page link .*: http://127\.0\.0\.1:\d+/setup/\S+", result.stdout)
    assert "submitted the key URL on the setup page: Submission #1 accepted" in result.stdout


def _children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (the demo starts its pieces in their own sessions)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_sigterm_stops_the_demo_and_everything_it_started(tmp_path: Path) -> None:
    """SIGTERM to `demo --keep-running` cleans up like Ctrl+C: the dev server, customer page
    and worker it started are stopped, and it exits promptly."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO_ROOT / "starter.py"),
        "demo",
        "--keep-running",
        "--state-dir",
        str(tmp_path / "demo"),
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = ""
    children: set[int] = set()
    try:
        async with asyncio.timeout(180):
            while (match := re.search(r"worker pid (\d+)", output)) is None:
                line = await process.stdout.readline()
                assert line, f"the demo exited before its stack was up:\n{output}"
                output += line.decode()
        children = _children(process.pid)
        worker_pid = int(match.group(1))
        assert worker_pid in children and len(children) >= 3, (children, output)
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), 45)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output += rest.decode()
    still_running = {pid for pid in children if _alive(pid)}
    for pid in still_running:  # not to leave them behind when this test fails
        os.kill(pid, signal.SIGKILL)
    assert process.returncode == 143, output
    assert "terminated" in output
    assert not still_running, (still_running, output)
