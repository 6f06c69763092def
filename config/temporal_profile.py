"""A Temporal envconfig profile (the SDK's TOML format, shared with the `temporal` CLI), read
through the SDK's own `temporalio.envconfig`, as plain values that settings.py layers under the
TEMPORAL_* variables.

    TEMPORAL_CONFIG_FILE=/etc/temporal.toml TEMPORAL_PROFILE=prod uv run python worker.py

A profile is read only when TEMPORAL_PROFILE or TEMPORAL_CONFIG_FILE is set: a developer's
~/.config/temporalio/temporal.toml never silently redirects a worker or a test run.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.envconfig import ClientConfigProfile, DataSource

ENV_PROFILE = "TEMPORAL_PROFILE"
ENV_CONFIG_FILE = "TEMPORAL_CONFIG_FILE"
DEFAULT_PROFILE = "default"
_QUOTED_LINE = re.compile(r"^\s*\d*\s*\|")
DEFAULT_FILE_HINT = "the SDK's default file (~/.config/temporalio/temporal.toml on Linux)"


class ProfileError(ValueError):
    """The profile cannot be used; the message names the variable or profile field and the fix."""


@dataclass(frozen=True)
class PemSource:
    """A PEM file, or PEM text given inline in a profile (`*_data`), which repr never shows."""

    path: Path | None = None
    data: bytes | None = field(default=None, repr=False)

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()


@dataclass(frozen=True, kw_only=True)
class ProfileValues:
    """What one profile sets; None where it is silent. Secrets stay out of repr (the SDK's own
    ClientConfigProfile repr shows the API key and inline key data, so it is never kept)."""

    name: str
    source: str
    address: str | None = None
    namespace: str | None = None
    api_key: str | None = field(default=None, repr=False)
    # None: the profile has no [tls] table; True: TLS on; False: `disabled = true`.
    tls: bool | None = None
    tls_server_name: str | None = None
    tls_cert: PemSource | None = None
    tls_key: PemSource | None = None
    tls_ca: PemSource | None = None
    # gRPC headers (`grpc_meta`), sent on every call; may carry credentials.
    rpc_metadata: Mapping[str, str] = field(default_factory=dict, repr=False)


def load_profile(env: Mapping[str, str]) -> ProfileValues | None:
    """The profile TEMPORAL_PROFILE names in TEMPORAL_CONFIG_FILE; None when neither is set."""
    name = env.get(ENV_PROFILE, "").strip()
    file = env.get(ENV_CONFIG_FILE, "").strip()
    if not name and not file:
        return None
    name = name or DEFAULT_PROFILE
    config_source: Path | None = None
    if file:
        config_source = Path(file).expanduser()
        if not config_source.is_file():
            raise ProfileError(
                f"{ENV_CONFIG_FILE}={file!r} is not a readable file; point it at a TOML file "
                f"with a [profile.{name}] table, or unset it to use {DEFAULT_FILE_HINT}"
            )
    source = str(config_source) if config_source else DEFAULT_FILE_HINT
    try:
        # disable_env: the TEMPORAL_* variables are applied by settings.py, with its own
        # validation and messages; here only the file counts.
        profile = ClientConfigProfile.load(
            name, config_source=config_source, disable_env=True, config_file_strict=True
        )
    except RuntimeError as error:  # the SDK's ConfigError: missing profile, bad TOML, unknown key
        if "not found" in str(error):
            raise ProfileError(
                f"{ENV_PROFILE}={name!r}: there is no [profile.{name}] in {source}; "
                f"add it or set {ENV_PROFILE} to a profile the file has"
            ) from None
        raise ProfileError(
            f"{ENV_PROFILE}={name!r} in {source} is not valid: {_without_quoted_source(error)}"
        ) from None
    where = f"profile {name!r} ({source})"
    values = ProfileValues(
        name=name,
        source=source,
        address=profile.address or None,
        namespace=profile.namespace or None,
        api_key=profile.api_key or None,
        rpc_metadata=dict(profile.grpc_meta),
    )
    tls = profile.tls
    if tls is None:
        return values
    return dataclasses.replace(
        values,
        tls=tls.disabled is not True,
        tls_server_name=tls.server_name or None,
        tls_cert=_pem(tls.client_cert, where, "client_cert_path"),
        tls_key=_pem(tls.client_private_key, where, "client_key_path"),
        tls_ca=_pem(tls.server_root_ca_cert, where, "server_ca_cert_path"),
    )


def _without_quoted_source(error: Exception) -> str:
    """The SDK's TOML error without the file lines it quotes: one may hold an API key."""
    lines = str(error).splitlines()
    kept = [line.strip() for line in lines if line.strip() and not _QUOTED_LINE.match(line)]
    return "; ".join(kept)


def _pem(source: DataSource | None, where: str, field_name: str) -> PemSource | None:
    if source is None:
        return None
    if isinstance(source, Path):
        path = source.expanduser()
        if not path.is_file():
            raise ProfileError(
                f"{field_name} = {str(source)!r} in {where} is not a readable file; "
                "fix the path in the profile"
            )
        return PemSource(path=path)
    return PemSource(data=source.encode() if isinstance(source, str) else source)
