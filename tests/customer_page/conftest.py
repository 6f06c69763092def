"""A real stack whose worker sends setup page links, the page as a process, and chromium."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from emulator.control import CustomerTenant
from harness.customer_page import CustomerPageProcess
from tests.e2e.conftest import Stack, running_stack

# This machine's network is closed: no first-run, sync, update or QUIC traffic to wait for.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


@dataclass(frozen=True)
class PageStack:
    stack: Stack
    page: CustomerPageProcess


@pytest.fixture(scope="session")
async def page_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PageStack]:
    root = tmp_path_factory.mktemp("customer-page")
    page = CustomerPageProcess("", "", root / "page.log", revocations_file=root / "revoked")
    async with running_stack(root, worker_extra=page.link_env) as stack:
        page.temporal_address, page.task_queue = stack.server.address, stack.task_queue
        await page.start()
        try:
            yield PageStack(stack, page)
        finally:
            page.stop()


@pytest.fixture
async def page_customer(page_stack: PageStack) -> CustomerTenant:
    assert page_stack.stack.worker.running, page_stack.stack.worker.log_tail()
    return await page_stack.stack.control.create_customer_tenant(display_name="Contoso")


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    """Debian's chromium through its chromedriver (.ci/run installs both), with a fresh profile."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and driver, "install chromium and chromium-driver (apt-get; see .ci/run)"
    options = Options()
    options.binary_location = binary
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()
        shutil.rmtree(profile, ignore_errors=True)
