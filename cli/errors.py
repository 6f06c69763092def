"""Exit codes a script can rely on, and the one error type every command raises to use them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    TEMPORAL_UNREACHABLE = 3
    WORKFLOW_NOT_FOUND = 4


EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 operation failed or was rejected; 2 bad input; "
    "3 Temporal not reachable; 4 workflow not found."
)


class CliError(Exception):
    """Ends the command with one line on stderr and `code` as the exit status."""

    def __init__(self, message: str, code: ExitCode = ExitCode.FAILED):
        super().__init__(message)
        self.code = code
