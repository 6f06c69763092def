"""`starter.py demo` itself, exactly as the README tells a new user to run it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.starter_process import run_starter


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
