"""Frozen settings read once from the environment at the edge (worker.py, starter.py).

    temporal = TemporalSettings.from_env()          # TEMPORAL_* variables over TEMPORAL_PROFILE
    client = await connect_temporal(temporal)       # client.connection
    worker = WorkerSettings.from_env()              # temporal + azure + logging/notifier/metrics

Bad values raise SettingsError whose message names the variable and the fix. Secrets are kept out
of every repr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from temporalio.service import TLSConfig

from config.temporal_envconfig import PemSource, TemporalConfigError, load_connection
from payload_codec.codec import CodecConfigError, CodecKeys

DEFAULT_TEMPORAL_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_TASK_QUEUE = "cmk-onboarding"

AzureMode = Literal["azure", "emulator"]
LogFormat = Literal["auto", "json", "console"]
NotifierKind = Literal["log", "webhook"]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and how to fix it."""


def _get(env: Mapping[str, str], name: str) -> str | None:
    """The stripped value, or None when unset or blank (compose passes blanks for unset vars)."""
    value = env.get(name, "").strip()
    return value or None


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> Any:
    value = (_get(env, name) or default).lower()
    if value not in choices:
        raise SettingsError(f"{name}={value!r} is not valid; use one of {', '.join(choices)}")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} must be a whole number") from None
    if value < 1:
        raise SettingsError(f"{name}={value} must be at least 1")
    return value


def _positive_float(env: Mapping[str, str], name: str) -> float | None:
    raw = _get(env, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} must be a number, e.g. 0.3") from None
    if not value > 0 or value == float("inf"):
        raise SettingsError(f"{name}={raw!r} must be a number above 0, or off for no limit")
    return value


def _port(env: Mapping[str, str], name: str) -> int | None:
    value = _positive_int(env, name, None)
    if value is not None and value > 65535:
        raise SettingsError(f"{name}={value} must be a TCP port between 1 and 65535")
    return value


def _existing_file(env: Mapping[str, str], name: str) -> Path | None:
    raw = _get(env, name)
    if raw is None:
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise SettingsError(f"{name}={raw!r} is not a readable file; point it at a PEM file")
    return path


def _https_url(env: Mapping[str, str], name: str, *, required: str | None) -> str | None:
    """An https URL without trailing slash; `required` says when it is needed (None: optional)."""
    raw = _get(env, name)
    if raw is None:
        if required:
            raise SettingsError(f"{name} is required {required}; set it to an https:// URL")
        return None
    parts = urlsplit(raw)
    if parts.scheme != "https" or not parts.hostname:
        raise SettingsError(
            f"{name}={raw!r} must be an https:// URL (Azure SDKs refuse tokens over plain http)"
        )
    return raw.rstrip("/")


def refuse_api_key_without_tls(api_key: str | None, tls: bool | None) -> None:
    """An API key over plain gRPC would travel in clear text: refuse the combination."""
    if api_key and tls is False:
        raise SettingsError(
            "TEMPORAL_API_KEY is set but TLS is off (TEMPORAL_TLS=false or `disabled = true` in "
            "the profile): the key would be sent in clear text; remove TEMPORAL_TLS=false, or "
            "unset TEMPORAL_API_KEY"
        )


@dataclass(frozen=True, kw_only=True)
class TemporalSettings:
    """Where the worker and starter connect; mTLS or an API key for a remote cluster or Cloud.

    The connection comes from the Temporal SDK's envconfig (temporal_envconfig.py): per value, a
    standard TEMPORAL_* variable, then the profile (TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE),
    then the default. TEMPORAL_TASK_QUEUE and the payload codec keys are this service's own.
    """

    address: str = DEFAULT_TEMPORAL_ADDRESS
    namespace: str = DEFAULT_NAMESPACE
    task_queue: str = DEFAULT_TASK_QUEUE
    # None: TLS whenever a certificate, CA, server name or API key is given.
    tls: bool | None = None
    tls_cert: PemSource | None = None
    tls_key: PemSource | None = None
    tls_ca: PemSource | None = None
    tls_server_name: str | None = None
    api_key: str | None = field(default=None, repr=False)
    rpc_metadata: Mapping[str, str] = field(default_factory=dict, repr=False)
    # "<name> (<file>)" of the envconfig profile in use, for logs and messages.
    profile: str | None = None
    codec_keys: CodecKeys | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> TemporalSettings:
        try:
            connection = load_connection(env)
            codec_keys = CodecKeys.from_env(env)
        except (TemporalConfigError, CodecConfigError) as error:
            raise SettingsError(str(error)) from None
        refuse_api_key_without_tls(connection.api_key, connection.tls)
        return cls(
            address=connection.address or DEFAULT_TEMPORAL_ADDRESS,
            namespace=connection.namespace or DEFAULT_NAMESPACE,
            task_queue=_get(env, "TEMPORAL_TASK_QUEUE") or DEFAULT_TASK_QUEUE,
            tls=connection.tls,
            tls_cert=connection.tls_cert,
            tls_key=connection.tls_key,
            tls_ca=connection.tls_ca,
            tls_server_name=connection.tls_server_name,
            api_key=connection.api_key,
            rpc_metadata=connection.rpc_metadata,
            profile=connection.profile,
            codec_keys=codec_keys,
        )

    def tls_config(self) -> TLSConfig | bool:
        """TLSConfig for mTLS, a private CA or a server name; True for TLS with the system's
        roots (an API key alone, or TLS switched on); False for plain gRPC."""
        if self.tls is False:
            return False
        if not (self.tls_cert or self.tls_ca or self.tls_server_name):
            return bool(self.tls or self.api_key)
        return TLSConfig(
            client_cert=self.tls_cert.read() if self.tls_cert else None,
            client_private_key=self.tls_key.read() if self.tls_key else None,
            server_root_ca_cert=self.tls_ca.read() if self.tls_ca else None,
            domain=self.tls_server_name,
        )


@dataclass(frozen=True, kw_only=True)
class AzureSettings:
    """Which Azure the worker talks to: public cloud (DefaultAzureCredential) or the emulator."""

    mode: AzureMode = "azure"
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    subscription_id: str | None = None
    emulator_url: str | None = None
    emulator_ca_bundle: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AzureSettings:
        mode: AzureMode = _choice(env, "AZURE_MODE", ("azure", "emulator"), "azure")
        settings = cls(
            mode=mode,
            tenant_id=_get(env, "AZURE_TENANT_ID"),
            client_id=_get(env, "AZURE_CLIENT_ID"),
            client_secret=_get(env, "AZURE_CLIENT_SECRET"),
            subscription_id=_get(env, "AZURE_SUBSCRIPTION_ID"),
            emulator_url=_https_url(
                env,
                "EMULATOR_URL",
                required="with AZURE_MODE=emulator" if mode == "emulator" else None,
            ),
            emulator_ca_bundle=_existing_file(env, "EMULATOR_CA_BUNDLE"),
        )
        if mode == "emulator":
            for name, value in (
                ("AZURE_TENANT_ID", settings.tenant_id),
                ("AZURE_CLIENT_ID", settings.client_id),
                ("AZURE_CLIENT_SECRET", settings.client_secret),
            ):
                if value is None:
                    raise SettingsError(
                        f"{name} is required with AZURE_MODE=emulator; "
                        "use the ISV tenant from EmulatorControl.create_isv_tenant()"
                    )
            if settings.emulator_ca_bundle is None:
                raise SettingsError(
                    "EMULATOR_CA_BUNDLE is required with AZURE_MODE=emulator; "
                    "point it at the emulator's ca.pem"
                )
        return settings


# Default paces of the two paced queues (workflows/task_queues.py), from Azure's published limits
# on the ISV subscription:
# - DES queue: DiskRP (Compute) counts DES create/update at most 99 per 3 minutes and 289 per 30
#   minutes per subscription (DESIGN.md section 2; emulator/ratelimits.py DES_DEFAULTS). Only DES
#   creates/updates run on that queue, so in steady state they run at its pace: the long window
#   binds at 289 / 1800 s = 0.1606/s (the 3-minute window allows 0.55/s). 0.155 is 96.5% of it:
#   279 per 30 minutes, leaving 10 for other callers.
# - Writes queue (test disk create/delete, ARM deletes of compensation): ARM's token buckets refill
#   writes at 10/s and deletes at 10/s (200 each), per principal, subscription and region (Learn,
#   "Understand how Azure Resource Manager throttles requests"). Any mix of PUTs and DELETEs at 5/s
#   stays within half of either bucket's refill, leaving the other half for the unpaced
#   once-per-ISV writes, the DES queue and other tools using the same principal. In practice the
#   queue carries two writes per DES create (0.31/s), so the DES queue is what paces onboardings.
# A faster emulator (set_throttling(time_scale=S)) takes each default * S.
DEFAULT_AZURE_DES_WRITES_PER_SECOND = 0.155
DEFAULT_AZURE_WRITES_PER_SECOND = 5.0


def _pace(env: Mapping[str, str], name: str, default: float) -> float | None:
    raw = _get(env, name)
    if raw is not None and raw.lower() == "off":
        return None
    value = _positive_float(env, name)
    return default if value is None else value


@dataclass(frozen=True, kw_only=True)
class WorkerSettings:
    """Everything worker.py needs, read once."""

    temporal: TemporalSettings
    azure: AzureSettings
    log_format: LogFormat = "auto"
    notifier: NotifierKind = "log"
    notifier_webhook_url: str | None = field(default=None, repr=False)
    notifier_webhook_ca: Path | None = None
    metrics_port: int | None = None
    max_concurrent_activities: int = 100
    max_concurrent_workflow_tasks: int = 100
    # Server-side paces of the DES-writes and Azure-writes task queues (all workers together);
    # None: unlimited (AZURE_DES_WRITES_PER_SECOND=off, AZURE_WRITES_PER_SECOND=off). See
    # DEFAULT_AZURE_DES_WRITES_PER_SECOND for the defaults' sources.
    azure_des_writes_per_second: float | None = DEFAULT_AZURE_DES_WRITES_PER_SECOND
    azure_writes_per_second: float | None = DEFAULT_AZURE_WRITES_PER_SECOND
    # Workflows kept in memory between tasks; an evicted one is replayed from history when it wakes
    # (a new sandboxed run plus about 110 events). Sized for the active onboardings, not the parked
    # ones. A cached run costs about 250 KB with the sandbox on since each run executes only its
    # own workflow module (1,000 parked, all cached: 412 MB; warm worker about 162 MB): 300 keeps
    # any number of parked onboardings near 237 MB, under the 250 MB target; a larger burst than
    # the cache replays (bench/RESULTS.md, "Sandbox runs execute only their own module").
    max_cached_workflows: int = 300
    # On: the workflow sandbox (workflows/sandbox.py) catches non-deterministic code in production
    # too, where a workflow meets inputs and code paths the tests never took. WORKFLOW_SANDBOX=off
    # is kept for the bench's side-by-side cost figures and as an escape hatch should a library
    # misbehave in it; the workflow and replay tests run sandboxed either way.
    workflow_sandbox: bool = True
    # Connection attempts before worker.py gives up (exit 3); None: keep retrying until stopped.
    connect_attempts: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> WorkerSettings:
        notifier: NotifierKind = _choice(env, "NOTIFIER", ("log", "webhook"), "log")
        return cls(
            temporal=TemporalSettings.from_env(env),
            azure=AzureSettings.from_env(env),
            log_format=_choice(env, "LOG_FORMAT", ("auto", "json", "console"), "auto"),
            notifier=notifier,
            notifier_webhook_url=_https_url(
                env,
                "NOTIFIER_WEBHOOK_URL",
                required="with NOTIFIER=webhook" if notifier == "webhook" else None,
            ),
            notifier_webhook_ca=_existing_file(env, "NOTIFIER_WEBHOOK_CA"),
            metrics_port=_port(env, "METRICS_PORT"),
            max_concurrent_activities=_positive_int(env, "MAX_CONCURRENT_ACTIVITIES", 100) or 100,
            max_concurrent_workflow_tasks=(
                _positive_int(env, "MAX_CONCURRENT_WORKFLOW_TASKS", 100) or 100
            ),
            azure_des_writes_per_second=_pace(
                env, "AZURE_DES_WRITES_PER_SECOND", DEFAULT_AZURE_DES_WRITES_PER_SECOND
            ),
            azure_writes_per_second=_pace(
                env, "AZURE_WRITES_PER_SECOND", DEFAULT_AZURE_WRITES_PER_SECOND
            ),
            max_cached_workflows=_positive_int(env, "MAX_CACHED_WORKFLOWS", 300) or 300,
            workflow_sandbox=_choice(env, "WORKFLOW_SANDBOX", ("on", "off"), "on") == "on",
            connect_attempts=_positive_int(env, "TEMPORAL_CONNECT_ATTEMPTS", None),
        )
