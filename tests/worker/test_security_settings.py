"""Issue 14 item 5: secrets stay out of logs and clear text; the codec server checks Host."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from activities.notify import WebhookNotifier
from config.logging_setup import REDACTED, redact_text
from config.policy import policy_from_env
from config.secret_files import with_secret_files
from config.settings import SettingsError, TemporalSettings, WorkerSettings
from models import CustomerNotification
from payload_codec.codec import AesGcmCodec, CodecConfigError
from payload_codec.server import CodecServerSettings, build_app
from tests.codec.helpers import keys

WEBHOOK = "https://hooks.example.com/services/T000/B000/s3cr3tpath?sig=abc"


def test_api_key_with_tls_off_is_refused() -> None:
    with pytest.raises(SettingsError) as refused:
        TemporalSettings.from_env({"TEMPORAL_API_KEY": "k-123", "TEMPORAL_TLS": "false"})
    assert "TEMPORAL_API_KEY" in str(refused.value) and "TEMPORAL_TLS" in str(refused.value)
    assert "k-123" not in str(refused.value)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("AZURE_CLIENT_SECRET=abc123xyz", "abc123xyz"),
        ('export AZURE_CLIENT_SECRET="s3 cr3t"', "s3"),
        ("TEMPORAL_API_KEY=tk.abc.def", "tk.abc.def"),
        ("PAYLOAD_CODEC_KEYS=k1:AAAA,k2:BBBB", "AAAA"),
        (f"NOTIFIER_WEBHOOK_URL={WEBHOOK}", "s3cr3tpath"),
    ],
)
def test_secret_assignments_are_redacted(text: str, secret: str) -> None:
    redacted = redact_text(text)
    assert secret not in redacted and REDACTED in redacted


async def test_webhook_url_is_not_in_repr_or_errors() -> None:
    notifier = WebhookNotifier("https://127.0.0.1:1/services/s3cr3tpath?sig=abc")
    settings = WorkerSettings.from_env({"NOTIFIER": "webhook", "NOTIFIER_WEBHOOK_URL": WEBHOOK})
    assert "s3cr3tpath" not in repr(notifier) and "s3cr3tpath" not in repr(settings)
    notification = CustomerNotification(
        kind="reminder", workflow_id="w", customer_tenant_id="t", customer_name="c"
    )
    with pytest.raises(Exception) as failed:
        await notifier.send(notification)
    await notifier.aclose()
    assert "s3cr3tpath" not in str(failed.value) and "127.0.0.1" in str(failed.value)


def test_secret_files_replace_their_variables(tmp_path: Path) -> None:
    secret = tmp_path / "azure_client_secret"
    secret.write_text("from-file\n")
    env = with_secret_files({"AZURE_CLIENT_SECRET_FILE": str(secret)})
    assert env["AZURE_CLIENT_SECRET"] == "from-file"
    with pytest.raises(SettingsError, match="TEMPORAL_API_KEY_FILE"):
        with_secret_files({"TEMPORAL_API_KEY_FILE": str(tmp_path / "missing")})
    with pytest.raises(SettingsError, match="both AZURE_CLIENT_SECRET and"):
        with_secret_files({"AZURE_CLIENT_SECRET_FILE": str(secret), "AZURE_CLIENT_SECRET": "x"})


def test_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('supported_regions = ["northeurope"]\n')
    assert policy_from_env({"CMK_POLICY_FILE": str(policy)}).supported_regions == ("northeurope",)
    policy.write_text('supported_regions = "northeurope"\nbogus = 1\n')
    with pytest.raises(SettingsError, match="bogus"):
        policy_from_env({"CMK_POLICY_FILE": str(policy)})


def test_policy_presets_cite_their_limits_and_can_be_overridden(tmp_path: Path) -> None:
    """`preset` picks the 2022 preview limits or the current Learn page; other keys override."""
    policy = tmp_path / "policy.toml"
    policy.write_text('preset = "current-docs"\n')
    current = policy_from_env({"CMK_POLICY_FILE": str(policy)})
    assert not current.register_preview_feature
    assert {"westeurope", "uksouth", "eastus"} <= set(current.supported_regions)
    assert set(current.unsupported_disk_skus) == {"UltraSSD_LRS", "PremiumV2_LRS"}
    assert not [r for r in current.supported_regions if r.startswith(("usgov", "china"))]
    policy.write_text('preset = "preview-2022"\n')
    preview = policy_from_env({"CMK_POLICY_FILE": str(policy)})
    assert preview.register_preview_feature and len(preview.supported_regions) == 7
    policy.write_text('preset = "current-docs"\nunsupported_disk_skus = ["PremiumV2_LRS"]\n')
    assert policy_from_env({"CMK_POLICY_FILE": str(policy)}).unsupported_disk_skus == (
        "PremiumV2_LRS",
    )
    policy.write_text('preset = "ga-2030"\n')
    with pytest.raises(SettingsError, match="preset 'ga-2030' is not one of"):
        policy_from_env({"CMK_POLICY_FILE": str(policy)})


def test_codec_server_off_loopback_needs_a_token() -> None:
    with pytest.raises(CodecConfigError, match="CODEC_SERVER_TOKEN is required"):
        CodecServerSettings.from_env({"CODEC_SERVER_HOST": "0.0.0.0"})
    assert CodecServerSettings.from_env({"CODEC_SERVER_HOST": "0.0.0.0", "CODEC_SERVER_TOKEN": "t"})


async def test_codec_server_refuses_foreign_host_headers() -> None:
    app = build_app(AesGcmCodec(keys()), CodecServerSettings())
    async with TestClient(TestServer(app)) as http:
        body = '{"payloads": []}'
        headers = {"Content-Type": "application/json"}
        rebound = await http.post("/decode", data=body, headers=headers | {"Host": "evil.example"})
        assert rebound.status == 421
        local = await http.post("/decode", data=body, headers=headers | {"Host": "localhost:8081"})
        assert local.status == 200
