"""The page's defences, through HTTP against a fake gateway: links, CSRF, size, rate, escaping."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer

from customer_page.app import MAX_BODY_BYTES, PageContext, build_app
from customer_page.gateway import ClosedOnboarding
from customer_page.links import SETUP_PATH, LinkSigner
from customer_page.rate_limit import RateLimiter
from customer_page.revocation import RevocationList, revoke
from models import Attempt, Stage
from tests.customer_page.fakes import WORKFLOW_ID, FakeGateway, awaiting_status

SECRET = b"s" * 48
KEY_URL = "https://contosokv.vault.azure.net/keys/disk-key/0123456789abcdef0123456789abcdef"


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def revocations_file(tmp_path: Path) -> Path:
    return tmp_path / "revoked"


@pytest.fixture
async def page(gateway: FakeGateway, revocations_file: Path) -> AsyncIterator[TestClient]:
    context = PageContext(
        signer=LinkSigner(SECRET),
        gateway=gateway,
        revocations=RevocationList(revocations_file),
        submissions=RateLimiter(3),
        secure_cookies=False,
    )
    client = TestClient(TestServer(build_app(context)), cookie_jar=CookieJar(unsafe=True))
    await client.start_server()
    yield client
    await client.close()


def link(ttl: timedelta = timedelta(hours=1), *, now: float | None = None) -> str:
    return SETUP_PATH + LinkSigner(SECRET).issue(WORKFLOW_ID, ttl, now=now)


async def csrf_of(page: TestClient, path: str) -> str:
    response = await page.get(path)
    assert response.status == 200, await response.text()
    found = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
    assert found
    return found.group(1)


async def test_a_genuine_link_shows_instructions_form_and_security_headers(
    page: TestClient,
) -> None:
    """The page shows the consent link and form, with CSP, frame and referrer headers set."""
    response = await page.get(link())
    text = await response.text()
    assert response.status == 200
    assert "adminconsent?client_id=a" in text and 'id="setup-form"' in text
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


async def test_a_tampered_signature_is_refused_with_403(page: TestClient) -> None:
    """Changing one character of the signature, or inventing a link, is 403."""
    genuine = link()
    tampered = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")
    assert (await page.get(tampered)).status == 403
    forged = SETUP_PATH + LinkSigner(b"x" * 48).issue(WORKFLOW_ID, timedelta(hours=1))
    assert (await page.get(forged)).status == 403
    assert (await page.get(SETUP_PATH + "not-a-token")).status == 403


async def test_an_expired_link_is_gone(page: TestClient) -> None:
    """A link past its expiry answers 410 and says to ask for a new one."""
    response = await page.get(link(timedelta(hours=1), now=0))
    assert response.status == 410
    assert "expired" in await response.text()


async def test_a_revoked_link_is_gone_and_a_newer_one_works(
    page: TestClient, revocations_file: Path
) -> None:
    """Revocation refuses links issued before it (410), not the ones issued after."""
    old = link()
    revoke(revocations_file, WORKFLOW_ID)
    response = await page.get(old)
    assert response.status == 410
    assert "revoked" in await response.text()
    assert (await page.get(link())).status == 200


async def test_an_ended_onboarding_refuses_the_link(page: TestClient, gateway: FakeGateway) -> None:
    """Completed (as a stage or a closed workflow) is 410 with the outcome, no form."""
    gateway.status = awaiting_status().model_copy(update={"stage": Stage.COMPLETED})
    response = await page.get(link())
    assert response.status == 410
    text = await response.text()
    assert "complete" in text and "setup-form" not in text
    gateway.status = ClosedOnboarding("cancelled")
    assert (await page.get(link())).status == 410


async def test_a_post_without_the_csrf_token_is_refused(
    page: TestClient, gateway: FakeGateway
) -> None:
    """No token, or a token for another browser (no cookie), is 403 and nothing is sent."""
    path = link()
    assert (await page.post(path, data={"key_url": KEY_URL})).status == 403
    csrf = await csrf_of(page, path)
    page.session.cookie_jar.clear()
    assert (await page.post(path, data={"key_url": KEY_URL, "csrf_token": csrf})).status == 403
    assert gateway.submitted == []


async def test_a_valid_submission_is_accepted(page: TestClient, gateway: FakeGateway) -> None:
    """With the page's token and cookie the key URL reaches the workflow; the attempt shows."""
    path = link()
    csrf = await csrf_of(page, path)
    response = await page.post(path, data={"key_url": KEY_URL, "csrf_token": csrf})
    text = await response.text()
    assert response.status == 200, text
    assert "Submission #1 accepted" in text and 'http-equiv="refresh"' in text
    assert [s.key_url for s in gateway.submitted] == [KEY_URL]


async def test_the_validators_reason_is_shown(page: TestClient, gateway: FakeGateway) -> None:
    """A URL the workflow rejects comes back as the workflow's reason, the form kept."""
    path = link()
    csrf = await csrf_of(page, path)
    response = await page.post(
        path, data={"key_url": "https://evil.example.com/k", "csrf_token": csrf}
    )
    text = await response.text()
    assert response.status == 422
    assert "is not a Key Vault key URL" in text and 'id="setup-form"' in text


async def test_an_oversized_body_is_413(page: TestClient, gateway: FakeGateway) -> None:
    """Bodies over the cap are refused before the form is parsed."""
    path = link()
    csrf = await csrf_of(page, path)
    big = {"key_url": KEY_URL, "note": "x" * (MAX_BODY_BYTES + 1), "csrf_token": csrf}
    assert (await page.post(path, data=big)).status == 413
    assert gateway.submitted == []


async def test_submissions_are_rate_limited_per_onboarding(page: TestClient) -> None:
    """Past the per-minute budget the page answers 429 with Retry-After."""
    path = link()
    csrf = await csrf_of(page, path)
    codes = []
    for _ in range(4):
        response = await page.post(path, data={"key_url": "bad", "csrf_token": csrf})
        codes.append(response.status)
    assert codes[:3] == [422, 422, 422]
    assert codes[3] == 429
    assert int(response.headers["Retry-After"]) >= 1


async def test_workflow_and_customer_text_is_escaped(
    page: TestClient, gateway: FakeGateway
) -> None:
    """<script> in the customer name, a failure reason and the customer's note stays text."""
    script = "<script>alert(1)</script>"
    failed = Attempt(
        number=1,
        key_url=f"https://x.vault.azure.net/keys/{script}",
        submitted_at=datetime.now(UTC),
        outcome="customer_error",
        reason=script,
        fix=script,
    )
    gateway.status = awaiting_status(customer_name=script).model_copy(update={"attempts": [failed]})
    path = link()
    csrf = await csrf_of(page, path)
    response = await page.post(path, data={"key_url": script, "note": script, "csrf_token": csrf})
    text = await response.text()
    assert "<script>" not in text
    assert text.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5


async def test_the_status_endpoint_follows_the_outcome(page: TestClient) -> None:
    """GET .../status is JSON with the stage and the attempts, for pollers."""
    response = await page.get(link() + "/status")
    assert response.status == 200
    body = await response.json()
    assert body["stage"] == "awaiting-customer" and body["accepts_submissions"] is True
