"""structlog configured once at the entry point; stdlib logging (temporalio, azure) routed into it.

    configure_logging("auto")        # JSON lines off a terminal, coloured console on one
    log = structlog.get_logger()
    log.info("worker started", task_queue="cmk-onboarding")

A redaction processor scrubs anything token-like from every event as defence in depth: nothing
secret should be logged in the first place.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, Literal

import structlog

REDACTED = "[REDACTED]"

_TOKEN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization header values.
    (re.compile(r"(?i)\b(Bearer|Basic|PoP)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    # JWTs (three base64url segments, header starting with '{"' -> 'eyJ').
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    # key=value secrets in query strings, form bodies and reprs.
    (
        re.compile(
            r"(?i)\b(client_secret|client_assertion|access_token|refresh_token|id_token"
            r"|password|api_key|apikey|sig)(\s*[=:]\s*)(['\"]?)[^\s&'\",;]+"
        ),
        rf"\1\2\3{REDACTED}",
    ),
    # Environment-style assignments of the service's secrets (AZURE_CLIENT_SECRET=...,
    # TEMPORAL_API_KEY=..., PAYLOAD_CODEC_KEYS=k1:...,k2:..., NOTIFIER_WEBHOOK_URL=...).
    (
        re.compile(
            r"(?i)\b([A-Z0-9_]*(?:SECRET|API_KEY|CODEC_KEYS|PASSWORD|TOKEN|WEBHOOK_URL))"
            r"(\s*[=:]\s*)(['\"]?)[^\s'\"]+"
        ),
        rf"\1\2\3{REDACTED}",
    ),
    # PEM blocks (private keys, certificates).
    (re.compile(r"-----BEGIN [A-Z ]+-----[\s\S]*?(?:-----END [A-Z ]+-----|$)"), REDACTED),
)

# Event keys whose values are secret whatever they look like.
_SECRET_KEYS = frozenset(
    {"authorization", "client_secret", "password", "token", "access_token", "api_key", "secret"}
)

# Loggers that log request headers or bodies when verbose; keep them quiet.
_NOISY_LOGGERS = {
    "azure.core.pipeline.policies.http_logging_policy": logging.WARNING,
    "azure.identity": logging.WARNING,
    "azure": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "kiota_http": logging.WARNING,
    "aiohttp.access": logging.WARNING,
}

# Attributes every stdlib LogRecord has; anything else came in through `extra`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact_text(text: str) -> str:
    """`text` with bearer tokens, JWTs, key=value secrets and PEM blocks replaced."""
    for pattern, replacement in _TOKEN_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if key.lower() in _SECRET_KEYS and value:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: scrub token-like values in every field of the event."""
    for key in list(event_dict):
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


def _extra_from_record(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Lift a stdlib record's `extra` (temporalio puts workflow/activity context there)."""
    record: logging.LogRecord | None = event_dict.get("_record")
    if record is None:
        return event_dict
    for key, value in vars(record).items():
        if key in _RECORD_ATTRIBUTES or key.startswith("_") or key in event_dict:
            continue
        # Forwarded Rust core records carry their raw form too; the message already has it.
        if key == "temporal_log":
            continue
        # temporalio nests its context in one dict per record ("temporal_workflow" etc).
        if isinstance(value, Mapping) and key.startswith("temporal_"):
            event_dict.update({k: v for k, v in value.items() if k not in event_dict})
        else:
            event_dict[key] = value
    return event_dict


def _use_json(log_format: str, stream: Any) -> bool:
    if log_format == "auto":
        return not (hasattr(stream, "isatty") and stream.isatty())
    return log_format == "json"


def configure_logging(
    log_format: Literal["auto", "json", "console"] = "auto",
    *,
    level: int = logging.INFO,
    stream: Any = None,
) -> None:
    """Configure structlog and the stdlib root logger once; calling again reconfigures."""
    stream = stream or sys.stderr
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        redact_processor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if _use_json(log_format, stream)
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[_extra_from_record, *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_processor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name, noisy_level in _NOISY_LOGGERS.items():
        logging.getLogger(name).setLevel(noisy_level)
