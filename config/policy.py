"""The worker's onboarding policy: defaults, or a TOML file named by CMK_POLICY_FILE.

    preset = "current-docs"            # or "preview-2022" (the default); models.POLICY_PRESETS
    supported_regions = ["eastus", "northeurope"]
    identity_mode = "isolated"

The preset's values are the base; every other key overrides its field.

Workflows receive it through the `load_policy` activity; a request may only narrow it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping

from pydantic import ValidationError

from config.settings import SettingsError
from models import DEFAULT_POLICY, POLICY_PRESETS, Policy


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
    preset_name = data.pop("preset", "preview-2022")
    preset = POLICY_PRESETS.get(preset_name) if isinstance(preset_name, str) else None
    if preset is None:
        raise SettingsError(
            f"CMK_POLICY_FILE={path!r}: preset {preset_name!r} is not one of "
            f"{', '.join(map(repr, POLICY_PRESETS))}"
        )
    try:
        return Policy.model_validate(preset.model_dump() | data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise SettingsError(f"CMK_POLICY_FILE={path!r}: {problems}") from None
