"""How often the key-health watch checks (a field of the onboarding request, and the watch's)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from models.base import Strict


class WatchSettings(Strict):
    """How often the watch reads the encryption set and proves the key with a test disk."""

    # Off: the onboarding starts no watch (offboarding then reads the onboarding's result).
    enabled: bool = True
    check_interval: Annotated[timedelta, Field(ge=timedelta(seconds=1), le=timedelta(days=7))] = (
        timedelta(hours=1)
    )
    probe_interval: Annotated[timedelta, Field(ge=timedelta(seconds=1), le=timedelta(days=90))] = (
        timedelta(days=7)
    )
    # While unhealthy and the read looks clean, a probe confirms the fix, at most this often.
    unhealthy_probe_interval: Annotated[
        timedelta, Field(ge=timedelta(seconds=1), le=timedelta(days=7))
    ] = timedelta(hours=6)
    # A run's history stays small: a new run after this many checks (a week of hourly checks).
    checks_per_run: Annotated[int, Field(ge=1, le=1000)] = 168
