"""Links, settings and the notify activity's link, without any server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from activities.notify import LogNotifier, NotifierActivities
from config.settings import SettingsError
from customer_page.links import LinkExpired, LinkForged, LinkSigner, parse_ttl
from customer_page.settings import LinkIssuer, PageSettings
from models import CustomerInstructions, CustomerNotification
from models.reply_step import REPLY_STEP

SECRET = "k" * 48


def test_a_link_round_trips_and_expires() -> None:
    """verify() returns the workflow id until the expiry, then refuses with LinkExpired."""
    signer = LinkSigner(SECRET.encode())
    token = signer.issue("wf-1", timedelta(minutes=5), now=1000)
    assert signer.verify(token, now=1299).workflow_id == "wf-1"
    with pytest.raises(LinkExpired):
        signer.verify(token, now=1300)
    with pytest.raises(LinkForged):
        LinkSigner(b"o" * 48).verify(token, now=1000)


def test_a_short_secret_is_refused_with_how_to_make_one() -> None:
    with pytest.raises(SettingsError, match="at least 32 bytes.*secrets.token_urlsafe"):
        PageSettings.from_env(
            {"CUSTOMER_PAGE_URL": "https://setup.example.com", "CUSTOMER_PAGE_SECRET": "short"}
        )


def test_the_secret_comes_from_a_file_but_not_from_both(tmp_path: Path) -> None:
    """CUSTOMER_PAGE_SECRET_FILE serves Docker and Kubernetes secrets; both set is an error."""
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    env = {
        "CUSTOMER_PAGE_URL": "https://setup.example.com/",
        "CUSTOMER_PAGE_SECRET_FILE": str(secret_file),
    }
    settings = PageSettings.from_env(env)
    assert settings.base_url == "https://setup.example.com" and settings.secure_cookies
    assert (settings.host, settings.port) == ("127.0.0.1", 8088)
    assert SECRET not in repr(settings)
    with pytest.raises(SettingsError, match="not both"):
        PageSettings.from_env(env | {"CUSTOMER_PAGE_SECRET": SECRET})


def test_settings_errors_name_the_variable() -> None:
    with pytest.raises(SettingsError, match="CUSTOMER_PAGE_URL is not set"):
        PageSettings.from_env({"CUSTOMER_PAGE_SECRET": SECRET})
    with pytest.raises(SettingsError, match="CUSTOMER_PAGE_URL: 'ftp://x' is not a base URL"):
        LinkIssuer.from_env({"CUSTOMER_PAGE_URL": "ftp://x", "CUSTOMER_PAGE_SECRET": SECRET})
    with pytest.raises(SettingsError, match="CUSTOMER_PAGE_PORT"):
        PageSettings.from_env(
            {
                "CUSTOMER_PAGE_URL": "https://a.example",
                "CUSTOMER_PAGE_SECRET": SECRET,
                "CUSTOMER_PAGE_PORT": "http",
            }
        )
    assert LinkIssuer.from_env({}) is None  # no page: notifications keep the CLI replies


def test_parse_ttl() -> None:
    assert parse_ttl("14d") == timedelta(days=14) and parse_ttl("90s") == timedelta(seconds=90)
    with pytest.raises(ValueError, match="--ttl: '2w'"):
        parse_ttl("2w")


def _notification(kind: str) -> CustomerNotification:
    markdown = (
        f"1. consent\n\n{REPLY_STEP} (`url`):\n\n```sh\nuv run starter.py complete ...\n```\n"
    )
    return CustomerNotification(
        kind=kind,  # type: ignore[arg-type]
        workflow_id="wf-1",
        customer_tenant_id="t",
        customer_name="Contoso",
        instructions=CustomerInstructions(
            consent_url="c", app_id="a", commands=(), markdown=markdown
        ),
    )


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[CustomerNotification] = []

    async def send(self, notification: CustomerNotification) -> None:
        self.sent.append(notification)

    async def aclose(self) -> None:
        return None


async def test_notify_adds_the_link_at_send_time_and_reports_it() -> None:
    """Instructions get the link instead of the CLI reply; 'completed' gets none."""
    issuer = LinkIssuer(signer=LinkSigner(SECRET.encode()), base_url="https://setup.example.com")
    recorder = _Recorder()
    activities = NotifierActivities(recorder, issuer)
    receipt = await activities.notify_customer(_notification("instructions"))
    assert receipt.setup_page_link
    sent = recorder.sent[0]
    assert sent.setup_page_url and sent.setup_page_url.startswith(
        "https://setup.example.com/setup/"
    )
    assert sent.instructions is not None
    assert sent.setup_page_url in sent.instructions.markdown
    assert "starter.py complete" not in sent.instructions.markdown
    assert not (await activities.notify_customer(_notification("completed"))).setup_page_link
    assert recorder.sent[1].setup_page_url is None


async def test_the_log_notifier_says_a_link_went_out_without_logging_it() -> None:
    issuer = LinkIssuer(signer=LinkSigner(SECRET.encode()), base_url="https://setup.example.com")
    with capture_logs() as logs:
        await NotifierActivities(LogNotifier(), issuer).notify_customer(_notification("reminder"))
    assert logs[0]["setup_page_link"] is True
    assert "/setup/" not in repr(logs)
