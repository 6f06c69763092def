"""Every command's --help renders: help texts quote URL shapes that must not be read as markup."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.app import app

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


def test_complete_help_shows_the_key_url_shape_verbatim() -> None:
    """The key URL shape is shown as typed: help text is plain, never read as markup."""
    result = CliRunner().invoke(app, ["complete", "--help"], env={"COLUMNS": "200"})
    unwrapped = "".join(result.output.split())  # the runner's console may wrap the column
    assert "https://<vault>.vault.azure.net/keys/<name>/<version>" in unwrapped
