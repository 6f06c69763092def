"""Settings parsing: defaults, validation messages naming the variable, secrets kept out of repr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.service import TLSConfig

from config.settings import (
    DEFAULT_AZURE_DES_WRITES_PER_SECOND,
    DEFAULT_AZURE_WRITES_PER_SECOND,
    AzureSettings,
    SettingsError,
    TemporalSettings,
    WorkerSettings,
)


def test_temporal_defaults() -> None:
    """With nothing set the worker talks to a local dev server on the cmk-onboarding queue."""
    settings = TemporalSettings.from_env({})
    assert (settings.address, settings.namespace, settings.task_queue) == (
        "localhost:7233",
        "default",
        "cmk-onboarding",
    )
    assert settings.tls_config() is False


def test_api_key_implies_tls_and_stays_out_of_repr() -> None:
    """TEMPORAL_API_KEY turns TLS on and never appears in the settings' repr."""
    settings = TemporalSettings.from_env({"TEMPORAL_API_KEY": "very-secret-key"})
    assert settings.tls_config() is True
    assert "very-secret-key" not in repr(settings)


def test_mtls_reads_certificate_files(tmp_path: Path) -> None:
    """Cert, key and CA files become a TLSConfig with the server name override."""
    for name in ("cert.pem", "key.pem", "ca.pem"):
        (tmp_path / name).write_text(f"-----BEGIN {name}-----")
    settings = TemporalSettings.from_env(
        {
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(tmp_path / "cert.pem"),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(tmp_path / "key.pem"),
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(tmp_path / "ca.pem"),
            "TEMPORAL_TLS_SERVER_NAME": "temporal.internal",
        }
    )
    tls = settings.tls_config()
    assert isinstance(tls, TLSConfig)
    assert tls.client_cert == b"-----BEGIN cert.pem-----"
    assert tls.domain == "temporal.internal"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        (
            {"TEMPORAL_TLS_CLIENT_CERT_PATH": "/nonexistent/cert.pem"},
            "TEMPORAL_TLS_CLIENT_CERT_PATH",
        ),
        ({"AZURE_MODE": "cloud"}, "AZURE_MODE"),
        ({"AZURE_MODE": "emulator"}, "EMULATOR_URL"),
        ({"AZURE_MODE": "emulator", "EMULATOR_URL": "http://127.0.0.1:9"}, "EMULATOR_URL"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"NOTIFIER": "webhook"}, "NOTIFIER_WEBHOOK_URL"),
        ({"NOTIFIER": "email"}, "NOTIFIER"),
        ({"METRICS_PORT": "ninety"}, "METRICS_PORT"),
        ({"METRICS_PORT": "70000"}, "METRICS_PORT"),
        ({"MAX_CONCURRENT_ACTIVITIES": "0"}, "MAX_CONCURRENT_ACTIVITIES"),
        ({"PAYLOAD_CODEC_KEYS": "k1:not-base64!"}, "PAYLOAD_CODEC_KEYS"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    """Every invalid setting raises SettingsError whose message starts with the variable."""
    with pytest.raises(SettingsError) as raised:
        WorkerSettings.from_env(env)
    assert variable in str(raised.value)


def test_cert_without_key_names_the_missing_one(tmp_path: Path) -> None:
    """mTLS needs both halves: a cert alone names TEMPORAL_TLS_CLIENT_KEY_PATH."""
    (tmp_path / "cert.pem").write_text("x")
    with pytest.raises(SettingsError, match="TEMPORAL_TLS_CLIENT_KEY_PATH is required"):
        TemporalSettings.from_env({"TEMPORAL_TLS_CLIENT_CERT_PATH": str(tmp_path / "cert.pem")})


def test_emulator_mode_needs_the_isv_credentials(tmp_path: Path) -> None:
    """AZURE_MODE=emulator without a client secret names AZURE_CLIENT_SECRET."""
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    env = {
        "AZURE_MODE": "emulator",
        "EMULATOR_URL": "https://127.0.0.1:8443/",
        "EMULATOR_CA_BUNDLE": str(ca),
        "AZURE_TENANT_ID": "t",
        "AZURE_CLIENT_ID": "c",
    }
    with pytest.raises(SettingsError, match="AZURE_CLIENT_SECRET"):
        AzureSettings.from_env(env)
    settings = AzureSettings.from_env(env | {"AZURE_CLIENT_SECRET": "s3cret-value"})
    assert settings.emulator_url == "https://127.0.0.1:8443"
    assert "s3cret-value" not in repr(settings)


def test_worker_settings_parse_numbers_and_choices() -> None:
    """Numbers and choices parse case-insensitively; blanks mean unset (compose passes them)."""
    settings = WorkerSettings.from_env(
        {
            "LOG_FORMAT": "JSON",
            "METRICS_PORT": "9464",
            "MAX_CONCURRENT_ACTIVITIES": "20",
            "MAX_CONCURRENT_WORKFLOW_TASKS": " ",
            "NOTIFIER": "webhook",
            "NOTIFIER_WEBHOOK_URL": "https://hooks.example.com/cmk",
        }
    )
    assert settings.log_format == "json"
    assert settings.metrics_port == 9464
    assert settings.max_concurrent_activities == 20
    assert settings.max_concurrent_workflow_tasks == 100
    assert settings.notifier_webhook_url == "https://hooks.example.com/cmk"


PACES = [
    (
        "AZURE_DES_WRITES_PER_SECOND",
        "azure_des_writes_per_second",
        DEFAULT_AZURE_DES_WRITES_PER_SECOND,
    ),
    ("AZURE_WRITES_PER_SECOND", "azure_writes_per_second", DEFAULT_AZURE_WRITES_PER_SECOND),
]


@pytest.mark.parametrize(("name", "attribute", "default"), PACES)
@pytest.mark.parametrize("raw", [None, " ", "off", "0.33", "2"])
def test_write_paces_are_a_positive_rate_or_unlimited(
    name: str, attribute: str, default: float, raw: str | None
) -> None:
    """AZURE_DES_WRITES_PER_SECOND paces the DES-writes queue, AZURE_WRITES_PER_SECOND the
    Azure-writes queue; unset or blank: the default from Azure's limits; `off`: no limit."""
    fixed: dict[str | None, float | None] = {None: default, " ": default, "off": None}
    expected = fixed[raw] if raw in fixed else float(str(raw))
    env = {} if raw is None else {name: raw}
    assert getattr(WorkerSettings.from_env(env), attribute) == expected


def test_default_paces_keep_des_under_diskrp_and_writes_under_arm() -> None:
    """DES creates under DiskRP's 289 per 30 minutes; other writes under half of ARM's 10/s."""
    assert 0.95 * 289 / 1800 <= DEFAULT_AZURE_DES_WRITES_PER_SECOND < 289 / 1800
    assert DEFAULT_AZURE_WRITES_PER_SECOND <= 10 / 2


@pytest.mark.parametrize("name", [name for name, _, _ in PACES])
@pytest.mark.parametrize("raw", ["0", "-1", "fast", "inf", "nan"])
def test_write_paces_reject_what_is_not_a_rate(name: str, raw: str) -> None:
    """Zero, negative, infinite or non-numeric rates name the variable and how to fix it."""
    with pytest.raises(SettingsError, match=name):
        WorkerSettings.from_env({name: raw})


def test_workflow_cache_and_sandbox_settings() -> None:
    """MAX_CACHED_WORKFLOWS and WORKFLOW_SANDBOX tune worker memory; the sandbox is on unless
    switched off explicitly."""
    default = WorkerSettings.from_env({})
    assert (default.max_cached_workflows, default.workflow_sandbox) == (300, True)
    tuned = WorkerSettings.from_env({"MAX_CACHED_WORKFLOWS": "120", "WORKFLOW_SANDBOX": "OFF"})
    assert (tuned.max_cached_workflows, tuned.workflow_sandbox) == (120, False)
    with pytest.raises(SettingsError, match="WORKFLOW_SANDBOX"):
        WorkerSettings.from_env({"WORKFLOW_SANDBOX": "maybe"})


def test_the_workflow_worker_runs_the_production_sandbox_unless_switched_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What build_workers hands the SDK: the sandbox with `models` and `activities` passed through,
    the cache size; the paced queues' workers run no workflows."""
    from temporalio.worker import UnsandboxedWorkflowRunner
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    import worker

    built: list[dict[str, Any]] = []
    monkeypatch.setattr(worker, "Worker", lambda client, **options: built.append(options))
    worker.build_workers(None, WorkerSettings.from_env({}), [])  # type: ignore[arg-type]
    workflow_worker, *paced = built
    runner = workflow_worker["workflow_runner"]
    assert isinstance(runner, SandboxedWorkflowRunner)
    assert {"models", "activities"} <= runner.restrictions.passthrough_modules
    assert workflow_worker["max_cached_workflows"] == 300
    assert len(paced) == 2 and all("workflows" not in options for options in paced)

    built.clear()
    worker.build_workers(None, WorkerSettings.from_env({"WORKFLOW_SANDBOX": "off"}), [])  # type: ignore[arg-type]
    assert isinstance(built[0]["workflow_runner"], UnsandboxedWorkflowRunner)
