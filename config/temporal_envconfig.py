"""The Temporal connection as the SDK's `temporalio.envconfig` reads it: the standard TEMPORAL_*
variables over a profile in its TOML file (the format the `temporal` CLI shares), checked here so a
mistake stops the worker with a message naming the variable or profile field and the fix.

    TEMPORAL_CONFIG_FILE=/etc/temporal.toml TEMPORAL_PROFILE=prod uv run python worker.py
    TEMPORAL_TLS_CLIENT_CERT_PATH=/run/c.pem TEMPORAL_TLS_CLIENT_KEY_PATH=/run/k.pem worker.py

The file is read only when TEMPORAL_PROFILE or TEMPORAL_CONFIG_FILE is set: a developer's
~/.config/temporalio/temporal.toml never silently redirects a worker or a test run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.envconfig import ClientConfigProfile, ClientConfigTLS, DataSource

ENV_PROFILE = "TEMPORAL_PROFILE"
ENV_CONFIG_FILE = "TEMPORAL_CONFIG_FILE"
DEFAULT_PROFILE = "default"
DEFAULT_FILE_HINT = "the SDK's default file (~/.config/temporalio/temporal.toml on Linux)"

# What temporalio.envconfig reads (plus TEMPORAL_GRPC_META_<header>), so a misspelt TLS name and
# the compose file's variables can be checked against it.
STANDARD_VARIABLES = frozenset(
    {
        "TEMPORAL_ADDRESS",
        "TEMPORAL_NAMESPACE",
        "TEMPORAL_API_KEY",
        "TEMPORAL_TLS",
        "TEMPORAL_TLS_CLIENT_CERT_PATH",
        "TEMPORAL_TLS_CLIENT_CERT_DATA",
        "TEMPORAL_TLS_CLIENT_KEY_PATH",
        "TEMPORAL_TLS_CLIENT_KEY_DATA",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
        "TEMPORAL_TLS_SERVER_NAME",
        "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
        "TEMPORAL_PROFILE",
        "TEMPORAL_CONFIG_FILE",
    }
)
# Names this service read before it used the SDK's; an upgrade that keeps them must not run
# without the TLS it asked for.
RETIRED_NAMES = {
    "TEMPORAL_TLS_CERT": "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_KEY": "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_CA": "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
}
# The SDK reads TEMPORAL_TLS as true/1 or false/0 and silently ignores anything else.
_TLS_SWITCH = {"true": True, "1": True, "false": False, "0": False}
# Lines of a TOML file the SDK quotes in its parse errors ("2 | api_key = ...").
_QUOTED_LINE = re.compile(r"^\s*\d*\s*\|")


class TemporalConfigError(ValueError):
    """The connection cannot be configured; the message names the variable or profile field."""


@dataclass(frozen=True)
class PemSource:
    """A PEM file, or PEM text given inline (`*_DATA` variable, `*_data` profile key), which repr
    never shows."""

    path: Path | None = None
    data: bytes | None = field(default=None, repr=False)

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()


@dataclass(frozen=True, kw_only=True)
class TemporalConnection:
    """What the variables and the profile set; None where both are silent. Secrets stay out of
    repr (the SDK's ClientConfigProfile repr shows the API key and inline key data, so it is
    never kept)."""

    address: str | None = None
    namespace: str | None = None
    api_key: str | None = field(default=None, repr=False)
    # None: not configured (TLS follows the API key); False: TEMPORAL_TLS=false or `disabled`.
    tls: bool | None = None
    tls_server_name: str | None = None
    tls_cert: PemSource | None = None
    tls_key: PemSource | None = None
    tls_ca: PemSource | None = None
    # gRPC headers (TEMPORAL_GRPC_META_*, `grpc_meta`), sent on every call; may carry credentials.
    rpc_metadata: Mapping[str, str] = field(default_factory=dict, repr=False)
    # "<name> (<file>)" of the profile in use, for logs and messages; None without a file.
    profile: str | None = None


def load_connection(env: Mapping[str, str]) -> TemporalConnection:
    """The connection from TEMPORAL_* variables in `env` over the selected profile, validated."""
    # Blank means unset, as compose passes unset variables; the SDK would take "" as a value.
    # Inline PEM text (*_DATA) is kept byte for byte.
    env = {
        name: value if name.endswith("_DATA") else value.strip()
        for name, value in env.items()
        if value.strip()
    }
    _refuse_what_the_sdk_would_ignore(env)
    name = env.get(ENV_PROFILE)
    file = env.get(ENV_CONFIG_FILE)
    read_file = bool(name or file)
    name = name or DEFAULT_PROFILE
    source = file or DEFAULT_FILE_HINT
    if file and not Path(file).expanduser().is_file():
        raise TemporalConfigError(
            f"{ENV_CONFIG_FILE}={file!r} is not a readable file; point it at a TOML file "
            f"with a [profile.{name}] table, or unset it to use {DEFAULT_FILE_HINT}"
        )
    sdk_env = dict(env)
    if file:
        sdk_env[ENV_CONFIG_FILE] = str(Path(file).expanduser())
    try:
        profile = ClientConfigProfile.load(
            name, disable_file=not read_file, config_file_strict=True, override_env_vars=sdk_env
        )
    except RuntimeError as error:  # the SDK's ConfigError
        raise TemporalConfigError(_explain(error, name, source)) from None
    where = f"profile {name!r} ({source})"
    tls = profile.tls or ClientConfigTLS()
    connection = TemporalConnection(
        address=profile.address or None,
        namespace=profile.namespace or None,
        api_key=profile.api_key or None,
        tls=None if tls.disabled is None else not tls.disabled,
        tls_server_name=tls.server_name or None,
        tls_cert=_pem(tls.client_cert, env, "TEMPORAL_TLS_CLIENT_CERT", "client_cert", where),
        tls_key=_pem(tls.client_private_key, env, "TEMPORAL_TLS_CLIENT_KEY", "client_key", where),
        tls_ca=_pem(
            tls.server_root_ca_cert, env, "TEMPORAL_TLS_SERVER_CA_CERT", "server_ca_cert", where
        ),
        rpc_metadata=dict(profile.grpc_meta),
        profile=f"{name} ({source})" if read_file else None,
    )
    _check_tls_is_consistent(connection)
    return connection


def _refuse_what_the_sdk_would_ignore(env: Mapping[str, str]) -> None:
    for retired, standard in RETIRED_NAMES.items():
        if retired in env:
            raise TemporalConfigError(
                f"{retired} is no longer read; rename it to {standard} (the Temporal SDK's name; "
                f"{standard.removesuffix('_PATH')}_DATA takes the PEM text itself)"
            )
    for name in env:
        if name.startswith("TEMPORAL_TLS_") and name not in STANDARD_VARIABLES:
            raise TemporalConfigError(
                f"{name} is not a Temporal SDK variable and would be ignored; use one of "
                + ", ".join(sorted(n for n in STANDARD_VARIABLES if n.startswith("TEMPORAL_TLS_")))
            )
    switch = env.get("TEMPORAL_TLS")
    if switch is not None and switch.lower() not in _TLS_SWITCH:
        raise TemporalConfigError(
            f"TEMPORAL_TLS={switch!r} is not valid; use true or false, or unset it to turn TLS "
            "on whenever a certificate, CA, server name or API key is given"
        )
    skip = env.get("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION")
    if skip is not None and _TLS_SWITCH.get(skip.lower()) is not False:
        # The SDK reads it but the Python client has no such switch: it would be ignored.
        raise TemporalConfigError(
            f"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION={skip!r} is not supported by the Python "
            "SDK; unset it and set TEMPORAL_TLS_SERVER_NAME to the name in the server's "
            "certificate (and TEMPORAL_TLS_SERVER_CA_CERT_PATH to its CA)"
        )


def _explain(error: Exception, name: str, source: str) -> str:
    text = str(error)
    if "not found" in text:
        return (
            f"{ENV_PROFILE}={name!r}: there is no [profile.{name}] in {source}; "
            f"add it or set {ENV_PROFILE} to a profile the file has"
        )
    if "Cannot specify both" in text:  # e.g. TEMPORAL_TLS_CLIENT_CERT_PATH and _DATA
        return f"{text.removeprefix('Invalid configuration: ')}; unset one of them"
    # The TOML errors quote the offending line, which may hold an API key: locate, don't quote.
    lines = text.splitlines()
    kept = [line.strip() for line in lines if line.strip() and not _QUOTED_LINE.match(line)]
    return f"{ENV_PROFILE}={name!r} in {source} is not valid: {'; '.join(kept)}"


def _pem(
    source: DataSource | None, env: Mapping[str, str], variable: str, key: str, where: str
) -> PemSource | None:
    if source is None:
        return None
    if not isinstance(source, Path):
        return PemSource(data=source.encode() if isinstance(source, str) else source)
    path = source.expanduser()
    if not path.is_file():
        origin = (
            f"{variable}_PATH={str(source)!r}"
            if f"{variable}_PATH" in env
            else f"{key}_path = {str(source)!r} in {where}"
        )
        raise TemporalConfigError(f"{origin} is not a readable file; point it at a PEM file")
    return PemSource(path=path)


def _check_tls_is_consistent(connection: TemporalConnection) -> None:
    if (connection.tls_cert is None) != (connection.tls_key is None):
        missing = "KEY" if connection.tls_key is None else "CERT"
        raise TemporalConfigError(
            f"TEMPORAL_TLS_CLIENT_{missing}_PATH is required with mTLS; set both "
            "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or their _DATA "
            "forms, or client_cert_path and client_key_path in the profile)"
        )
    if connection.tls is False and (connection.tls_cert or connection.tls_ca):
        raise TemporalConfigError(
            "TLS is off (TEMPORAL_TLS=false or `disabled = true` in the profile) but a "
            "client certificate or CA is configured; remove one of them"
        )
