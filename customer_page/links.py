"""Signed, expiring links to one onboarding's setup page (HMAC-SHA256, no server-side state).

signer = LinkSigner(secret)
token = signer.issue("cmk-onboarding-...", ttl=timedelta(days=14))
claims = signer.verify(token)          # LinkForged / LinkExpired when it must be refused
url = page_url("https://setup.example.com", token)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import timedelta

# Domain separation: a link signature can never be replayed as a CSRF token or the other way round.
_LINK_CONTEXT = b"cmk-customer-page/link/v1\x00"
_CSRF_CONTEXT = b"cmk-customer-page/csrf/v1\x00"
MIN_SECRET_BYTES = 32
# Workflow ids are at most 1,000 characters in Temporal; anything longer is not ours.
MAX_TOKEN_CHARS = 2048
SETUP_PATH = "/setup/"


class LinkRefused(ValueError):
    """The link must not open the page; `http_status` says how the page answers."""

    http_status = 403


class LinkForged(LinkRefused):
    """Malformed or signed with another secret: someone edited or invented it."""


class LinkExpired(LinkRefused):
    """Genuine but past its expiry: the ISV has to send a new one."""

    http_status = 410


class LinkRevoked(LinkRefused):
    """Genuine but revoked by the ISV (see revocation.py)."""

    http_status = 410


@dataclass(frozen=True)
class LinkClaims:
    workflow_id: str
    # Milliseconds, so a link issued right after a revocation is newer than the revocation.
    issued_at_ms: int
    expires_at: int

    @property
    def link_id(self) -> str:
        """Names the link in logs and rate limits without repeating its signature."""
        return f"{self.workflow_id}@{self.issued_at_ms}"


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    """Issues and verifies links with one secret; the only holder of that secret in memory."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(
                f"CUSTOMER_PAGE_SECRET must be at least {MIN_SECRET_BYTES} bytes; generate one "
                'with `python -c "import secrets; print(secrets.token_urlsafe(48))"`'
            )
        self._secret = secret

    def __repr__(self) -> str:
        return "LinkSigner(secret=<hidden>)"

    def issue(self, workflow_id: str, ttl: timedelta, *, now: float | None = None) -> str:
        now = time.time() if now is None else now
        claims = {"w": workflow_id, "iat": int(now * 1000), "exp": int(now + ttl.total_seconds())}
        payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, *, now: float | None = None) -> LinkClaims:
        """The claims of a genuine, unexpired link; LinkForged or LinkExpired otherwise."""
        payload, dot, signature = token.partition(".")
        if not dot or len(token) > MAX_TOKEN_CHARS:
            raise LinkForged("this link is malformed; open the link exactly as you received it")
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise LinkForged("this link's signature is not valid; ask your service provider")
        try:
            raw = json.loads(_b64decode(payload))
            claims = LinkClaims(str(raw["w"]), int(raw["iat"]), int(raw["exp"]))
        except (ValueError, KeyError, TypeError):
            raise LinkForged("this link is malformed; ask your service provider") from None
        if (time.time() if now is None else now) >= claims.expires_at:
            raise LinkExpired(
                "this link has expired; ask your service provider for a new one "
                "(`starter.py link -w <workflow id>`)"
            )
        return claims

    def csrf_token(self, token: str, browser_nonce: str) -> str:
        """The form token for this link in this browser (signed double submit with a cookie)."""
        message = _CSRF_CONTEXT + token.encode() + b"\x00" + browser_nonce.encode()
        return _b64encode(hmac.new(self._secret, message, hashlib.sha256).digest())

    def csrf_matches(self, token: str, browser_nonce: str, submitted: str) -> bool:
        return bool(browser_nonce) and hmac.compare_digest(
            submitted.encode(), self.csrf_token(token, browser_nonce).encode()
        )

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._secret, _LINK_CONTEXT + payload.encode(), hashlib.sha256).digest()
        return _b64encode(digest)


def page_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{SETUP_PATH}{token}"


def parse_ttl(text: str) -> timedelta:
    """'14d', '12h', '30m' or '90s' as a timedelta; ValueError names the accepted forms."""
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    value, unit = text[:-1], text[-1:].lower()
    if unit not in units or not value.isdigit() or int(value) <= 0:
        raise ValueError(f"--ttl: '{text}' is not a duration; use e.g. 14d, 12h, 30m or 90s")
    return timedelta(**{units[unit]: int(value)})
