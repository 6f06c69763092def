"""The worker's onboarding policy: defaults, or a TOML file named by CMK_POLICY_FILE.

    supported_regions = ["eastus", "northeurope"]
    identity_mode = "isolated"

Workflows receive it through the `load_policy` activity; a request may only narrow it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping

from pydantic import ValidationError

from config.settings import SettingsError
from models import DEFAULT_POLICY, Policy


def policy_from_env(env: Mapping[str, str]) -> Policy:
    path = env.get("CMK_POLICY_FILE", "").strip()
    if not path:
        return DEFAULT_POLICY
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError:
        raise SettingsError(f"CMK_POLICY_FILE={path!r} is not a readable file") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"CMK_POLICY_FILE={path!r} is not valid TOML: {error}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise SettingsError(f"CMK_POLICY_FILE={path!r}: {problems}") from None
