"""Errors raised by handlers, rendered in the envelope of the API family that served the request.

ApiError
 +-- ARM:   {"error": {"code", "message", "details": []}}
 +-- Graph: {"error": {"code", "message",
 |                     "innerError": {"date", "request-id", "client-request-id"}}}
 +-- Entra: {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id"}
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web


class ApiError(Exception):
    """An Azure-shaped failure; `headers` are added to the response (e.g. Retry-After)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        entra_error: str = "invalid_request",
        additional_info: list[dict[str, Any]] | None = None,
    ):
        super().__init__(message)
        # ARM's standard ErrorAdditionalInfo list: where our own diagnosis travels.
        self.additional_info = additional_info
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.entra_error = entra_error


def family_of(path: str) -> str:
    """Which Azure API family a path belongs to: admin, graph, arm or entra."""
    if path.startswith("/_emulator/"):
        return "admin"
    if path.startswith("/v1.0/") or path == "/v1.0":
        return "graph"
    lowered = path.lower()
    if lowered.startswith("/subscriptions") or lowered.startswith("/providers/"):
        return "arm"
    return "entra"


def error_body(
    family: str,
    status: int,
    code: str,
    message: str,
    request_id: str,
    client_request_id: str | None,
) -> dict[str, Any]:
    if family == "graph":
        return {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
                    "request-id": request_id,
                    "client-request-id": client_request_id or request_id,
                },
            }
        }
    if family == "entra":
        number = code.removeprefix("AADSTS")
        return {
            "error": "invalid_request",
            "error_description": f"{code}: {message}",
            "error_codes": [int(number)] if number.isdigit() else [],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": request_id,
            "correlation_id": client_request_id or request_id,
        }
    return {"error": {"code": code, "message": message, "details": []}}


def render(
    error: ApiError, family: str, request_id: str, client_request_id: str | None
) -> web.Response:
    body = error_body(
        family, error.status, error.code, error.message, request_id, client_request_id
    )
    if family == "entra":
        body["error"] = error.entra_error
    if family == "arm" and error.additional_info:
        body["error"]["additionalInfo"] = error.additional_info
    return web.Response(
        status=error.status,
        text=json.dumps(body),
        content_type="application/json",
        headers=error.headers,
    )


async def json_body(request: web.Request, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object, or an Azure-like 400 when it is missing or malformed."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise ApiError(400, "InvalidRequestContent", "The request content was missing.")
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized: malformed JSON.",
        ) from None
    if not isinstance(data, dict):
        raise ApiError(400, "InvalidRequestContent", "The request content must be a JSON object.")
    return data


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data), content_type="application/json", headers=headers
    )
