"""`python -m customer_page` as a child process on a free port, for the demo and the tests.

page = CustomerPageProcess.for_stack(temporal_address, task_queue, state_dir / "page.log")
await page.start()
worker_env(..., extra=page.link_env)      # the worker's notifications then carry links
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from customer_page.links import LinkSigner
from customer_page.settings import LinkIssuer
from harness.local_stack import DEFAULT_NAMESPACE, HOST, StackError, WorkerProcess, free_port


@dataclass
class CustomerPageProcess:
    """The page, configured like a user would: Temporal and CUSTOMER_PAGE_* variables."""

    temporal_address: str
    task_queue: str
    log_file: Path
    port: int = field(default_factory=free_port)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48), repr=False)
    revocations_file: Path | None = None
    _process: WorkerProcess | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def link_env(self) -> dict[str, str]:
        """What a link issuer (worker.py, `starter.py link`) needs to make links to this page."""
        env = {"CUSTOMER_PAGE_URL": self.base_url, "CUSTOMER_PAGE_SECRET": self.secret}
        if self.revocations_file is not None:
            env["CUSTOMER_PAGE_REVOCATIONS_FILE"] = str(self.revocations_file)
        return env

    def link_issuer(self) -> LinkIssuer:
        return LinkIssuer(
            signer=LinkSigner(self.secret.encode()),
            base_url=self.base_url,
            revocations_file=self.revocations_file,
        )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    def log_tail(self) -> str:
        return self._process.log_tail() if self._process else "(not started)"

    async def start(self, ready_within: float = 30.0) -> None:
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "TEMPORAL_NAMESPACE": DEFAULT_NAMESPACE,
            "TEMPORAL_TASK_QUEUE": self.task_queue,
            "CUSTOMER_PAGE_HOST": HOST,
            "CUSTOMER_PAGE_PORT": str(self.port),
            "LOG_FORMAT": "json",
            **self.link_env,
        }
        self._process = WorkerProcess(env, self.log_file, python_args=("-m", "customer_page"))
        self._process.start()
        deadline = time.monotonic() + ready_within
        async with aiohttp.ClientSession() as http:
            while True:
                if not self.running:
                    raise StackError(f"the customer page exited while starting:\n{self.log_tail()}")
                try:
                    async with http.get(f"{self.base_url}/healthz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise StackError(f"the customer page did not start:\n{self.log_tail()}")
                await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None
