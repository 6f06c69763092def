"""Build an onboarding request from `--from-json` and flags, validated before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli.errors import CliError, ExitCode
from models import OnboardingRequest, RequestInvalid, parse_request


def flag_for(field: str) -> str:
    """`customer_tenant_id` -> `--customer-tenant-id`, for error messages that say what to type."""
    return "--" + field.split(".", 1)[0].replace("_", "-")


def load_json_file(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CliError(
            f"--from-json: cannot read {path}: {error.strerror}", ExitCode.BAD_INPUT
        ) from None
    except json.JSONDecodeError as error:
        raise CliError(
            f"--from-json: {path} is not valid JSON (line {error.lineno}: {error.msg})",
            ExitCode.BAD_INPUT,
        ) from None
    except UnicodeDecodeError:
        raise CliError(f"--from-json: {path} is not UTF-8 text", ExitCode.BAD_INPUT) from None
    except RecursionError:
        # json.loads recurses once per nesting level; a request is a flat object.
        raise CliError(
            f"--from-json: {path} nests arrays or objects too deeply to be a request",
            ExitCode.BAD_INPUT,
        ) from None
    if not isinstance(raw, dict):
        raise CliError(f"--from-json: {path} must hold a JSON object", ExitCode.BAD_INPUT)
    return raw


def build_request(json_file: Path | None, flags: dict[str, Any]) -> OnboardingRequest:
    """Flags override the JSON file; unset flags leave the file's value or the model's default."""
    raw = load_json_file(json_file) if json_file else {}
    raw |= {name: value for name, value in flags.items() if value is not None}
    try:
        return parse_request(raw)
    except RequestInvalid as invalid:
        raise CliError(describe_problems(invalid.problems), ExitCode.BAD_INPUT) from None


def describe_problems(problems: list[tuple[str, str]]) -> str:
    lines = [
        f"the onboarding request is invalid ({len(problems)} problem(s)); nothing was started:"
    ]
    lines += [f"  {field} ({flag_for(field)}): {problem}" for field, problem in problems]
    return "\n".join(lines)
