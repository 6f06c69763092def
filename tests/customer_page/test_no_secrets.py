"""The page's secret and the links' tokens never reach a workflow history or a log.

Extends tests/e2e/test_no_secrets.py (same scanner) to the customer page: a customer who forgets
the role is told twice through links (instructions, then the failed attempt) and answers on the
page; then every history on the page stack's server, the worker's log and the page's log are
scanned for the secret, every token the customer received and every token's signature.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from customer_page.form_client import submit_key_url
from emulator.control import CustomerTenant
from tests.customer_page.conftest import PageStack
from tests.e2e.conftest import WEBHOOK_CHANNEL
from tests.e2e.helpers import prepare_customer_vault, start_onboarding, wait_for_status
from tests.e2e.test_no_secrets import find_leaks, history_text

# worker.py, the page and starter.py processes against a real dev server.
pytestmark = pytest.mark.slow


async def _links_for(page_stack: PageStack, workflow_id: str) -> list[str]:
    messages = await page_stack.stack.control.webhook_messages(WEBHOOK_CHANNEL)
    return [
        str(m["setup_page_url"])
        for m in messages
        if m["workflow_id"] == workflow_id and m.get("setup_page_url")
    ]


async def test_no_page_secret_or_link_token_in_histories_or_logs(
    page_stack: PageStack, page_customer: CustomerTenant
) -> None:
    stack = page_stack.stack
    workflow_id = await start_onboarding(stack, page_customer)
    waiting = await wait_for_status(
        stack,
        workflow_id,
        lambda s: s["stage"] == "awaiting-customer" and s["setup_page_link_sent"],
    )
    app_id = waiting["instructions"]["app_id"]
    vault, key_url = await prepare_customer_vault(stack, page_customer, app_id, assign_role=False)
    (first_link,) = await _links_for(page_stack, workflow_id)
    assert (await submit_key_url(first_link, key_url)).notice_kind == "ok"
    await wait_for_status(
        stack,
        workflow_id,
        lambda s: (
            s["stage"] == "awaiting-customer"
            and [a["outcome"] for a in s["attempts"]] == ["customer_error"]
        ),
    )
    await stack.control.assign_key_role(page_customer.tenant_id, vault, app_id)

    async def retry_with_the_latest_link() -> list[str]:
        links = await _links_for(page_stack, workflow_id)
        if len(links) < 2:  # the attempt_failed notification may still be on its way
            await asyncio.sleep(0.5)
            links = await _links_for(page_stack, workflow_id)
        assert len(links) == 2, links
        assert (await submit_key_url(links[-1], key_url)).notice_kind == "ok"
        return links

    links = await retry_with_the_latest_link()
    await wait_for_status(stack, workflow_id, lambda s: s["stage"] == "completed")

    tokens = [link.rsplit("/", 1)[1] for link in links]
    known = (
        page_stack.page.secret,
        *tokens,
        *(token.split(".")[1] for token in tokens),
        stack.isv.client_secret,
    )
    client = await Client.connect(stack.server.address, data_converter=pydantic_data_converter)
    runs = [execution async for execution in client.list_workflows()]
    assert workflow_id in {r.id for r in runs}
    histories = await asyncio.gather(
        *(client.get_workflow_handle(r.id, run_id=r.run_id).fetch_history() for r in runs)
    )
    leaks: dict[str, list[str]] = {}
    for run, history in zip(runs, histories, strict=True):
        if found := find_leaks(history_text(json.loads(history.to_json())), known):
            leaks[f"history {run.id}"] = found
    for name, path in (
        ("worker log", stack.worker.log_file),
        ("page log", page_stack.page.log_file),
    ):
        text = path.read_text(errors="replace")
        if found := find_leaks(text, known):
            leaks[name] = found
    assert leaks == {}
    # The page log did see these requests, by workflow id only.
    assert workflow_id in page_stack.page.log_file.read_text()
