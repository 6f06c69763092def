"""Exit codes a script can rely on, the CLI's own error, and how client errors map onto codes."""

from __future__ import annotations

from enum import IntEnum

from client.errors import (
    InvalidClientInput,
    OnboardingClientError,
    TemporalUnreachable,
    WorkflowNotFound,
)


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


_CLIENT_ERROR_CODES: dict[type[OnboardingClientError], ExitCode] = {
    InvalidClientInput: ExitCode.BAD_INPUT,
    TemporalUnreachable: ExitCode.TEMPORAL_UNREACHABLE,
    WorkflowNotFound: ExitCode.WORKFLOW_NOT_FOUND,
}


def exit_code_for(error: OnboardingClientError) -> ExitCode:
    """The exit status for an error of the client library (1 unless it is more specific)."""
    for kind, code in _CLIENT_ERROR_CODES.items():
        if isinstance(error, kind):
            return code
    return ExitCode.FAILED
