"""Logging: token-like values are redacted, JSON lines carry temporalio's context fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from config.logging_setup import REDACTED, configure_logging, redact_text

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLWJ5dGVz"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
        (f"token {JWT} sent", JWT),
        ("grant_type=client_credentials&client_secret=Sup3r~Secret&scope=x", "Sup3r~Secret"),
        ("password: hunter2-long", "hunter2-long"),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----", "MIIEvQ"),
    ],
)
def test_redact_text_removes_secrets(text: str, secret: str) -> None:
    """Bearer tokens, JWTs, client_secret=..., passwords and PEM blocks are replaced."""
    redacted = redact_text(text)
    assert secret not in redacted
    assert REDACTED in redacted


def test_redact_text_keeps_ordinary_messages() -> None:
    """Azure error codes, ids and URLs survive redaction untouched."""
    text = "KeyDisabled: key https://kv1.vault.azure.net/keys/k is disabled (code: 400)"
    assert redact_text(text) == text


@pytest.fixture
def json_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    yield stream
    configure_logging("json")


def test_structlog_and_stdlib_lines_are_redacted_json(json_stream: io.StringIO) -> None:
    """Both structlog and stdlib records come out as JSON with secrets scrubbed, keys included."""
    structlog.get_logger("t").info("token fetched", authorization=f"Bearer {JWT}", tenant="t1")
    logging.getLogger("temporalio.activity").info(
        "calling Azure with %s",
        f"Bearer {JWT}",
        extra={"temporal_activity": {"activity_type": "ensure_application", "attempt": 2}},
    )
    lines = [json.loads(line) for line in json_stream.getvalue().splitlines()]
    assert JWT not in json_stream.getvalue()
    assert lines[0]["authorization"] == REDACTED and lines[0]["tenant"] == "t1"
    assert lines[1]["activity_type"] == "ensure_application" and lines[1]["attempt"] == 2
    assert lines[1]["level"] == "info"


def test_azure_http_logging_stays_quiet(json_stream: io.StringIO) -> None:
    """azure-core's HTTP logging policy (which prints headers) logs nothing at INFO."""
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").info("Request headers")
    assert json_stream.getvalue() == ""
