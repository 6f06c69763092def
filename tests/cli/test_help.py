"""Every command's --help renders: help texts quote URL shapes that must not be read as markup."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cli.app import app
from tests.cli.starter_process import REPO_ROOT

COMMANDS = [
    command.name or (command.callback.__name__ if command.callback else "")
    for command in app.registered_commands
]


def test_every_command_is_covered() -> None:
    """The list below is the app's own, so a new command is checked without editing this file."""
    assert {"start", "complete", "status", "watch", "list", "demo"} <= set(COMMANDS)


@pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)], ids=str)
def test_help_exits_zero(command: list[str]) -> None:
    """`starter.py [COMMAND] --help` prints usage and exits 0, never a rich MarkupError."""
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "Usage:" in result.output


def test_complete_help_piped_shows_the_key_url_shape_whole() -> None:
    """`starter.py complete --help | less`: no MarkupError, and the key URL shape on one line
    (off a terminal click assumed 80 columns and broke it mid-word)."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run(
        [sys.executable, "starter.py", "complete", "--help"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "--key-url <str>             https://<vault>.vault.azure.net/keys/<name>/<version>" in (
        done.stdout
    )
