"""Start the emulator in-process or as a subprocess.

In-process it runs on the running asyncio loop; the subprocess is `python -m emulator`.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from aiohttp import web

from emulator.context import EmulatorContext
from emulator.control import EmulatorControl
from emulator.server import build_context, create_app
from emulator.tls import ensure_certificates, server_ssl_context

READY_LINE = re.compile(r"^emulator listening on (https://127\.0\.0\.1:(\d+)) ca=(.+)$")
HOST = "127.0.0.1"
# What a child emulator prints after its ready line (request errors), in its data directory.
LOG_FILE = "emulator.log"


@dataclass
class RunningEmulator:
    """An emulator serving on this process's event loop."""

    url: str
    ca_path: Path
    control: EmulatorControl
    context: EmulatorContext
    _runner: web.AppRunner = field(repr=False)

    async def stop(self) -> None:
        await self.control.aclose()
        await self._runner.cleanup()
        self.context.save_if_dirty()


async def start_emulator(
    *,
    data_dir: Path,
    port: int = 0,
    persist: bool = False,
    feature_delay: float = 0.5,
    seed: int = 0,
) -> RunningEmulator:
    """Serve HTTPS on 127.0.0.1:`port` (0 picks a free port) until stop()."""
    data_dir = Path(data_dir)
    ca_path = ensure_certificates(data_dir)
    context = build_context(data_dir, persist=persist, feature_delay=feature_delay, seed=seed)
    runner = web.AppRunner(create_app(context), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, ssl_context=server_ssl_context(data_dir))
    await site.start()
    bound_port = runner.addresses[0][1]
    url = f"https://{HOST}:{bound_port}"
    return RunningEmulator(
        url=url,
        ca_path=ca_path,
        control=EmulatorControl(url, ca_path),
        context=context,
        _runner=runner,
    )


@dataclass
class EmulatorProcess:
    """An emulator running as a child process."""

    url: str
    ca_path: Path
    control: EmulatorControl
    process: subprocess.Popen[str] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait: the emulator saves its state before exiting."""
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout)

    def kill(self) -> int:
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait(10)


def _drain(stdout: IO[str], ready: queue.Queue[str], log_path: Path) -> None:
    """Hand the ready line over, then copy everything else the emulator prints to its log file.

    The pipe must be read for as long as the emulator runs: once its buffer (64 KB) is full, the
    emulator's next log line blocks its event loop and every request to it hangs.
    """
    ready.put(stdout.readline())
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        for line in stdout:
            log.write(line)
            log.flush()


def start_emulator_process(
    *,
    data_dir: Path,
    port: int = 0,
    persist: bool = False,
    feature_delay: float = 0.5,
    seed: int = 0,
    startup_timeout: float = 30.0,
) -> EmulatorProcess:
    """Launch `python -m emulator` and wait for its one ready line."""
    command = [
        sys.executable,
        "-m",
        "emulator",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--feature-delay",
        str(feature_delay),
        "--seed",
        str(seed),
    ]
    if persist:
        command.append("--persist")
    repo_root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(command, cwd=repo_root, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    ready: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=_drain, args=(process.stdout, ready, data_dir / LOG_FILE), daemon=True
    ).start()
    try:
        first = ready.get(timeout=startup_timeout)
    except queue.Empty:
        first = ""
    match = READY_LINE.match(first.strip())
    if match is None:
        process.kill()
        process.wait(10)
        raise RuntimeError(
            f"emulator did not start: first line was {first!r}, exit code {process.returncode}"
        )
    url, ca_path = match.group(1), Path(match.group(3))
    return EmulatorProcess(
        url=url, ca_path=ca_path, control=EmulatorControl(url, ca_path), process=process
    )
