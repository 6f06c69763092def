"""`<NAME>_FILE` variables: secrets read from files (compose `secrets:`), never from the env."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from config.settings import SettingsError

SECRET_VARIABLES = (
    "AZURE_CLIENT_SECRET",
    "TEMPORAL_API_KEY",
    "PAYLOAD_CODEC_KEYS",
    "NOTIFIER_WEBHOOK_URL",
    "CODEC_SERVER_TOKEN",
    "CUSTOMER_PAGE_SECRET",
)


def with_secret_files(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with each `<NAME>_FILE` replaced by the file's content under `<NAME>`."""
    resolved = dict(env)
    for name in SECRET_VARIABLES:
        path = env.get(f"{name}_FILE", "").strip()
        if not path:
            continue
        if env.get(name, "").strip():
            raise SettingsError(f"both {name} and {name}_FILE are set; keep only {name}_FILE")
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise SettingsError(
                f"{name}_FILE={path!r} is not a readable file; point it at the secret's file "
                "(e.g. /run/secrets/...)"
            ) from None
        if not value:
            raise SettingsError(f"{name}_FILE={path!r} is empty; put the secret in it")
        resolved[name] = value
    return resolved
