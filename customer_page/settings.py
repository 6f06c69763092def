"""The page's settings and the link issuer's, read once from the environment at the edge.

CUSTOMER_PAGE_SECRET / CUSTOMER_PAGE_SECRET_FILE   HMAC key for links (>= 32 bytes)
CUSTOMER_PAGE_URL                                   public base URL, e.g. https://setup.example.com
CUSTOMER_PAGE_HOST / CUSTOMER_PAGE_PORT             where the page listens (127.0.0.1:8088)
CUSTOMER_PAGE_REVOCATIONS_FILE                      revoked links (revocation.py); unset: none
CUSTOMER_PAGE_SUBMISSIONS_PER_MINUTE                key URL submissions per onboarding (5)
CUSTOMER_PAGE_LINK_TTL                              lifetime of links in notifications (14d)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from config.settings import LogFormat, SettingsError
from customer_page.links import LinkSigner, page_url, parse_ttl

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8088
DEFAULT_SUBMISSIONS_PER_MINUTE = 5
DEFAULT_LINK_TTL = timedelta(days=14)


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def read_secret(env: Mapping[str, str]) -> bytes | None:
    """CUSTOMER_PAGE_SECRET, or the file CUSTOMER_PAGE_SECRET_FILE names (Docker/K8s secrets)."""
    value = _get(env, "CUSTOMER_PAGE_SECRET")
    path = _get(env, "CUSTOMER_PAGE_SECRET_FILE")
    if value and path:
        raise SettingsError("set CUSTOMER_PAGE_SECRET or CUSTOMER_PAGE_SECRET_FILE, not both")
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise SettingsError(
                f"CUSTOMER_PAGE_SECRET_FILE: cannot read '{path}' ({error.strerror}); "
                "point it at a file holding the secret"
            ) from None
    return value.encode() if value else None


def _base_url(env: Mapping[str, str], *, required: bool) -> str | None:
    value = _get(env, "CUSTOMER_PAGE_URL")
    if value is None:
        if required:
            raise SettingsError(
                "CUSTOMER_PAGE_URL is not set; set it to the page's public base URL, "
                "e.g. https://setup.example.com"
            )
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query:
        raise SettingsError(
            f"CUSTOMER_PAGE_URL: '{value}' is not a base URL; use e.g. https://setup.example.com"
        )
    return value.rstrip("/")


def _signer(env: Mapping[str, str]) -> LinkSigner:
    secret = read_secret(env)
    if secret is None:
        raise SettingsError(
            "CUSTOMER_PAGE_SECRET (or CUSTOMER_PAGE_SECRET_FILE) is not set; generate one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(48))"`'
        )
    try:
        return LinkSigner(secret)
    except ValueError as error:
        raise SettingsError(str(error)) from None


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise SettingsError(f"{name}: '{raw}' is not a whole number from {low} to {high}")
    return int(raw)


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = _get(env, name)
    return Path(raw) if raw else None


def _log_format(env: Mapping[str, str]) -> LogFormat:
    raw = _get(env, "LOG_FORMAT") or "auto"
    if raw not in ("auto", "json", "console"):
        raise SettingsError(f"LOG_FORMAT: '{raw}' is not one of auto, json, console")
    return cast(LogFormat, raw)


@dataclass(frozen=True, kw_only=True)
class LinkIssuer:
    """Makes customer links; held by the worker's notifier and by `starter.py link`."""

    signer: LinkSigner = field(repr=False)
    base_url: str
    ttl: timedelta = DEFAULT_LINK_TTL
    revocations_file: Path | None = None

    def link_for(self, workflow_id: str, ttl: timedelta | None = None) -> str:
        return page_url(self.base_url, self.signer.issue(workflow_id, ttl or self.ttl))

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> LinkIssuer | None:
        """None when the page is not configured (no CUSTOMER_PAGE_URL): CLI replies instead."""
        base_url = _base_url(env, required=False)
        if base_url is None:
            return None
        raw_ttl = _get(env, "CUSTOMER_PAGE_LINK_TTL")
        try:
            ttl = parse_ttl(raw_ttl) if raw_ttl else DEFAULT_LINK_TTL
        except ValueError:
            raise SettingsError(
                f"CUSTOMER_PAGE_LINK_TTL: '{raw_ttl}' is not a duration; use e.g. 14d or 12h"
            ) from None
        return cls(
            signer=_signer(env),
            base_url=base_url,
            ttl=ttl,
            revocations_file=_path(env, "CUSTOMER_PAGE_REVOCATIONS_FILE"),
        )


@dataclass(frozen=True, kw_only=True)
class PageSettings:
    """What `python -m customer_page` needs besides the Temporal connection."""

    signer: LinkSigner = field(repr=False)
    base_url: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    revocations_file: Path | None = None
    submissions_per_minute: int = DEFAULT_SUBMISSIONS_PER_MINUTE
    log_format: LogFormat = "auto"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> PageSettings:
        base_url = _base_url(env, required=True)
        assert base_url is not None
        return cls(
            signer=_signer(env),
            base_url=base_url,
            host=_get(env, "CUSTOMER_PAGE_HOST") or DEFAULT_HOST,
            port=_int(env, "CUSTOMER_PAGE_PORT", DEFAULT_PORT, low=1, high=65535),
            revocations_file=_path(env, "CUSTOMER_PAGE_REVOCATIONS_FILE"),
            submissions_per_minute=_int(
                env,
                "CUSTOMER_PAGE_SUBMISSIONS_PER_MINUTE",
                DEFAULT_SUBMISSIONS_PER_MINUTE,
                low=1,
                high=600,
            ),
            log_format=_log_format(env),
        )
