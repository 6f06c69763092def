"""The customer's side in a real browser: open the emailed link, fail once, succeed, see it done."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from emulator.control import CustomerTenant
from tests.cli.starter_process import run_starter
from tests.customer_page.conftest import PageStack
from tests.e2e.conftest import WEBHOOK_CHANNEL
from tests.e2e.helpers import prepare_customer_vault, start_onboarding, wait_for_status

# worker.py, the page, chromium and starter.py processes against a real dev server.
pytestmark = pytest.mark.slow

WRONG_HOST_KEY_URL = "https://keys.example.com/keys/disk-key"


def _awaiting_with_link(status: dict[str, Any]) -> bool:
    return status["stage"] == "awaiting-customer" and status["setup_page_link_sent"]


async def _emailed_link(page_stack: PageStack, workflow_id: str) -> str:
    """The link in the customer's 'instructions' notification (the emulator's webhook sink)."""
    messages = await page_stack.stack.control.webhook_messages(WEBHOOK_CHANNEL)
    mine = [m for m in messages if m["workflow_id"] == workflow_id and m["kind"] == "instructions"]
    assert mine, f"no instructions notification for {workflow_id}"
    url = str(mine[-1]["setup_page_url"])
    assert url in mine[-1]["instructions"]["markdown"]
    assert "starter.py complete" not in mine[-1]["instructions"]["markdown"]
    return url


def _submit(browser: webdriver.Chrome, key_url: str) -> str:
    """Type the key URL into the form, send it, and return the notice the page answers with."""
    field = browser.find_element(By.ID, "key_url")
    field.clear()
    field.send_keys(key_url)
    browser.find_element(By.ID, "submit").click()
    notice = WebDriverWait(browser, 60).until(
        expected_conditions.presence_of_element_located((By.ID, "notice"))
    )
    return str(notice.text)


async def test_customer_fails_once_then_completes_in_the_browser(
    page_stack: PageStack, page_customer: CustomerTenant, browser: webdriver.Chrome
) -> None:
    """Wrong key URL: the workflow's reason on the page; right one: accepted, then completed."""
    stack = page_stack.stack
    workflow_id = await start_onboarding(stack, page_customer)
    status = await wait_for_status(stack, workflow_id, _awaiting_with_link)
    link = await _emailed_link(page_stack, workflow_id)

    await asyncio.to_thread(browser.get, link)
    assert browser.find_element(By.ID, "stage").text == "awaiting-customer"
    app_id = status["instructions"]["app_id"]
    assert app_id in browser.find_element(By.ID, "consent-link").text
    assert f"az ad sp create --id {app_id}" in browser.find_element(By.ID, "commands").text

    rejected = await asyncio.to_thread(_submit, browser, WRONG_HOST_KEY_URL)
    assert "Not accepted" in rejected
    assert "host 'keys.example.com' is not a Key Vault or Managed HSM host" in rejected

    _, key_url = await prepare_customer_vault(stack, page_customer, app_id, assign_role=True)
    accepted = await asyncio.to_thread(_submit, browser, key_url)
    assert "Submission #1 accepted" in accepted

    # The page refreshes itself while Azure works and ends on the completed page (410 Gone).
    await asyncio.to_thread(
        WebDriverWait(browser, 180, poll_frequency=0.5).until,
        expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "h1"), "completed"),
    )
    assert "encrypted with your key" in browser.find_element(By.ID, "message").text
    final = await wait_for_status(stack, workflow_id, lambda s: s["stage"] == "completed")
    assert [a["outcome"] for a in final["attempts"]] == ["succeeded"]


async def test_starter_link_issues_and_revokes(
    page_stack: PageStack, page_customer: CustomerTenant
) -> None:
    """`starter.py link` prints a working link; `--revoke` makes earlier links 410 Gone."""
    stack = page_stack.stack
    workflow_id = await start_onboarding(stack, page_customer)
    await wait_for_status(stack, workflow_id, _awaiting_with_link)
    env = stack.cli_env | page_stack.page.link_env

    async def link(*extra: str) -> str:
        run = await run_starter("link", "-w", workflow_id, "--json", *extra, env=env)
        assert run.code == 0, run.stderr
        return str(json.loads(run.stdout)["url"])

    first = await link("--ttl", "1h")
    async with aiohttp.ClientSession() as http:
        async with http.get(first) as answer:
            assert answer.status == 200
        second = await link("--revoke")
        async with http.get(first) as answer:
            assert answer.status == 410
        async with http.get(second) as answer:
            assert answer.status == 200
