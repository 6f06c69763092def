"""Admin hook: make the next long-running operations fail with an arbitrary code.

Real DiskRP can fail an accepted PUT through its async operation with any code (the poll answers
HTTP 200 and `status: Failed`); the service must classify codes it has never seen. A failure
registered here replaces the outcome of the next matching operation(s):

    POST /_emulator/lro-failures {"resource_regex": "diskEncryptionSets/des-1", "code": "X",
                                  "message": "...", "max_count": 1}
    DELETE /_emulator/lro-failures
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.errors import ApiError, json_body, json_response

PATH = "/_emulator/lro-failures"


@dataclass
class LroFailure:
    resource_regex: re.Pattern[str]
    code: str
    message: str
    max_count: int | None
    fired: int = 0

    def describe(self) -> dict[str, Any]:
        return {
            "resource_regex": self.resource_regex.pattern,
            "code": self.code,
            "message": self.message,
            "max_count": self.max_count,
            "fired": self.fired,
        }


FAILURES: web.AppKey[list[LroFailure]] = web.AppKey("lro_failures", list)


def take(request: web.Request, resource_id: str) -> dict[str, Any] | None:
    """The injected error for an operation on `resource_id`, consuming one use, or None."""
    for failure in request.app.get(FAILURES, []):
        if failure.max_count is not None and failure.fired >= failure.max_count:
            continue
        if failure.resource_regex.search(resource_id):
            failure.fired += 1
            return {"code": failure.code, "message": failure.message, "details": []}
    return None


async def add_failure(request: web.Request) -> web.Response:
    body = await json_body(request)
    try:
        pattern = re.compile(str(body.get("resource_regex", ".*")), re.IGNORECASE)
    except re.error as error:
        raise ApiError(400, "InvalidParameter", f"resource_regex is invalid: {error}") from None
    code = body.get("code")
    if not isinstance(code, str) or not code:
        raise ApiError(400, "InvalidParameter", "code must be a non-empty string.")
    max_count = body.get("max_count", 1)
    if max_count is not None and (not isinstance(max_count, int) or max_count < 1):
        raise ApiError(400, "InvalidParameter", "max_count must be a positive integer or null.")
    failure = LroFailure(pattern, code, str(body.get("message", "")), max_count)
    request.app[FAILURES].append(failure)
    return json_response(failure.describe(), status=201)


async def clear_failures(request: web.Request) -> web.Response:
    request.app[FAILURES].clear()
    return web.Response(status=204)


def register(app: web.Application) -> None:
    app[FAILURES] = []
    app.router.add_post(PATH, add_failure)
    app.router.add_delete(PATH, clear_failures)
