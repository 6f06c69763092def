"""`starter.py` starts without the Azure SDKs: only `doctor` talks to Azure, so only it loads them.

Importing azure-identity, azure-mgmt-* and msgraph costs about 2 s of CPU, more than the rest of
the CLI together; a refused request or a `--help` must not pay it.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli.starter_process import REPO_ROOT

AZURE_SDK_PREFIXES = ("azure.", "msgraph", "kiota_")


def _modules_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_the_cli_loads_no_azure_sdk() -> None:
    loaded = _modules_after("import cli.app")
    assert "cli.doctor" in loaded  # the probe imports what starter.py imports
    assert [m for m in loaded if m.startswith(AZURE_SDK_PREFIXES)] == []


def test_doctor_still_reaches_the_azure_clients_when_it_runs() -> None:
    loaded = _modules_after(
        "import asyncio, cli.doctor\n"
        "try:\n"
        "    asyncio.run(cli.doctor._check(None, 'sub', 'rg'))\n"
        "except Exception:\n"
        "    pass"
    )
    assert "activities.azure_clients" in loaded
