"""The fleet driver asks again when a status query times out, and only then."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode

from harness import fleet


class _Handle:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.asked = 0

    async def query(self, *_: Any, **__: Any) -> Any:
        self.asked += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class _Client:
    def __init__(self, handle: _Handle) -> None:
        self.handle = handle

    def get_workflow_handle(self, _: str) -> _Handle:
        return self.handle


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instantly(_: float) -> None:
        return None

    monkeypatch.setattr(fleet.asyncio, "sleep", instantly)


def _timeout() -> RPCError:
    return RPCError("Timeout expired", RPCStatusCode.CANCELLED, b"")


async def test_a_timed_out_query_is_asked_again() -> None:
    handle = _Handle([_timeout(), _timeout(), "status"])
    assert await fleet.status_of(_Client(handle), "wf") == "status"  # type: ignore[arg-type]
    assert handle.asked == 3


async def test_other_failures_and_endless_timeouts_are_raised() -> None:
    not_found = RPCError("gone", RPCStatusCode.NOT_FOUND, b"")
    with pytest.raises(RPCError, match="gone"):
        await fleet.status_of(_Client(_Handle([not_found])), "wf")  # type: ignore[arg-type]
    endless = _Handle([_timeout() for _ in range(fleet.QUERY_ATTEMPTS)])
    with pytest.raises(RPCError, match="Timeout"):
        await fleet.status_of(_Client(endless), "wf")  # type: ignore[arg-type]
    assert endless.asked == fleet.QUERY_ATTEMPTS
