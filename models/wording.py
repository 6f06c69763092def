"""Durations and moments in words for people: "14 days", "every 2 days", "2026-12-15 10:00 UTC".

Customer and operator texts use these instead of ISO 8601 or Python's `timedelta` repr
("14 days, 0:00:00"). Pure functions: the workflow passes its own `workflow.now()` where needed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_UNITS = (
    ("week", timedelta(weeks=1)),
    ("day", timedelta(days=1)),
    ("hour", timedelta(hours=1)),
    ("minute", timedelta(minutes=1)),
    ("second", timedelta(seconds=1)),
)


def _count(amount: int, unit: str) -> str:
    return f"{amount} {unit}" if amount == 1 else f"{amount} {unit}s"


def duration_words(span: timedelta) -> str:
    """'14 days', '2 days 6 hours', '90 seconds' -> '1 minute 30 seconds'; at most two units.

    Weeks are used only for whole weeks beyond 14 days, because "14 days" is how deadlines are
    usually agreed; a zero or negative span is 'no time'.
    """
    remaining = timedelta(seconds=round(span.total_seconds()))
    if remaining <= timedelta(0):
        return "no time"
    parts: list[str] = []
    for unit, size in _UNITS:
        if unit == "week" and (remaining <= timedelta(days=14) or remaining % size):
            continue
        amount, remaining = divmod(remaining, size)
        if amount:
            parts.append(_count(amount, unit))
        if len(parts) == 2 or not remaining:
            break
    return " ".join(parts)


def every(span: timedelta) -> str:
    """'every 2 days', 'every day', 'every 6 hours'."""
    words = duration_words(span)
    # "every day", not "every 1 day"; "every 1 minute 30 seconds" keeps its count.
    if words.startswith("1 ") and words.count(" ") == 1:
        words = words.removeprefix("1 ")
    return f"every {words}"


def moment_words(moment: datetime) -> str:
    """'2026-12-15 10:00 UTC' (minutes are precise enough for a person)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def deadline_words(deadline: datetime, now: datetime) -> str:
    """'in 14 days, on 2026-12-15 10:00 UTC', or 'on ... (passed)' once it is over."""
    if deadline <= now:
        return f"on {moment_words(deadline)} (passed)"
    return f"in {duration_words(deadline - now)}, on {moment_words(deadline)}"
