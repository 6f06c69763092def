"""Memory and CPU of a process from /proc (Linux), without extra dependencies."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, field: str) -> int:
    for line in open(f"/proc/{pid}/status").read().splitlines():  # noqa: SIM115 - tiny file
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(f"{field} not in /proc/{pid}/status")


def rss_mb(pid: int) -> float:
    """Resident set size now, in MB."""
    return _status_kib(pid, "VmRSS") / 1024


def peak_rss_mb(pid: int) -> float:
    """The highest resident set size since the process started (VmHWM), in MB."""
    return _status_kib(pid, "VmHWM") / 1024


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115 - tiny file
    # Fields after the command name (which may contain spaces) start after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _CLOCK_TICKS


@dataclass(frozen=True)
class CpuSample:
    pid: int
    cpu: float
    at: float

    @classmethod
    def now(cls, pid: int) -> CpuSample:
        return cls(pid, cpu_seconds(pid), time.monotonic())

    def percent_since(self, earlier: CpuSample) -> float:
        """CPU use between two samples, as a percentage of one core."""
        elapsed = self.at - earlier.at
        return 100.0 * (self.cpu - earlier.cpu) / elapsed if elapsed > 0 else 0.0
