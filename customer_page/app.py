"""The aiohttp application: open a signed link, show the onboarding, take the key URL.

    app = build_app(PageContext(signer=..., gateway=TemporalGateway(client, target), ...))
    web.run_app(app, host="127.0.0.1", port=8088, access_log=None)

Routes: GET /setup/{token} (the page), POST /setup/{token} (the form), GET /setup/{token}/status
(JSON for pollers), GET /healthz. The token is the whole credential, so it is never logged: the
access log is off and the request log names the workflow instead.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from aiohttp import web
from pydantic import ValidationError

from client.errors import OnboardingClientError, OperationRejected, WorkflowNotFound
from customer_page.gateway import ClosedOnboarding, OnboardingGateway
from customer_page.links import SETUP_PATH, LinkClaims, LinkRefused, LinkRevoked, LinkSigner
from customer_page.rate_limit import RateLimiter
from customer_page.render import (
    STYLESHEET,
    STYLESHEET_PATH,
    FormValues,
    Notice,
    message_page,
    setup_page,
    status_json,
)
from customer_page.revocation import RevocationList
from models import TERMINAL_STAGES, CustomerSetupComplete, OnboardingStatus

# A key URL, a note of 1,000 characters and a CSRF token fit many times over.
MAX_BODY_BYTES = 16 * 1024
MAX_KEY_URL_CHARS = 2048
NONCE_COOKIE = "cmk_setup_nonce"
# Page views query the workflow: generous for a person, a wall for a script hammering Temporal.
VIEWS_PER_MINUTE = 60
UNAVAILABLE_RETRY_AFTER = "30"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

log = structlog.get_logger("cmk.customer_page")


@dataclass
class PageContext:
    signer: LinkSigner = field(repr=False)
    gateway: OnboardingGateway
    revocations: RevocationList = field(default_factory=lambda: RevocationList(None))
    submissions: RateLimiter = field(default_factory=lambda: RateLimiter(5))
    views: RateLimiter = field(default_factory=lambda: RateLimiter(VIEWS_PER_MINUTE))
    secure_cookies: bool = True


CONTEXT = web.AppKey("context", PageContext)
WORKFLOW_ID = web.RequestKey("workflow_id", str)


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def _refusal(status: int, title: str, message: str, **headers: str) -> web.HTTPException:
    error = web.HTTPException(headers=headers)
    error.set_status(status)
    error.content_type, error.charset = "text/html", "utf-8"
    error.text = message_page(title, message)
    return error


def _open_link(request: web.Request) -> tuple[str, LinkClaims]:
    """The token and its claims, or the 403/410 page that refuses it."""
    context = request.app[CONTEXT]
    token = request.match_info["token"]
    try:
        claims = context.signer.verify(token)
        if context.revocations.is_revoked(claims):
            raise LinkRevoked(
                "this link has been revoked by your service provider; ask them for a new one"
            )
    except LinkRefused as refused:
        raise _refusal(refused.http_status, "This link cannot be used", str(refused)) from None
    request[WORKFLOW_ID] = claims.workflow_id
    return token, claims


def _rate_limited(limiter: RateLimiter, claims: LinkClaims, what: str) -> None:
    wait = limiter.try_acquire(claims.workflow_id)
    if wait:
        raise _refusal(
            429,
            "Too many requests",
            f"too many {what} for this onboarding; try again in {wait} seconds",
            **{"Retry-After": str(wait)},
        )


_ENDED_MESSAGES = {
    "completed": "The onboarding is complete: the disks are encrypted with your key. "
    "This link is no longer needed.",
    "failed": "The onboarding has ended without completing. Contact your service provider; "
    "they can start it again and send you a new link.",
    "cancelled": "The onboarding was cancelled by your service provider. Contact them if this "
    "is unexpected.",
}


def _ended(outcome: str) -> web.HTTPException:
    message = _ENDED_MESSAGES.get(outcome, _ENDED_MESSAGES["failed"])
    return _refusal(410, f"Onboarding {outcome}", message)


async def _live_status(request: web.Request, claims: LinkClaims) -> OnboardingStatus:
    """The running onboarding's status; 410 once it has ended, 404/503 when Temporal says so."""
    gateway = request.app[CONTEXT].gateway
    try:
        snapshot = await gateway.fetch(claims.workflow_id)
    except WorkflowNotFound:
        raise _refusal(
            404, "Onboarding not found", "no onboarding matches this link; ask your provider"
        ) from None
    except OnboardingClientError as error:
        log.warning("status unavailable", workflow_id=claims.workflow_id, error=str(error))
        raise _refusal(
            503,
            "Temporarily unavailable",
            "the onboarding's status cannot be read right now; try again in a minute",
            **{"Retry-After": UNAVAILABLE_RETRY_AFTER},
        ) from None
    if isinstance(snapshot, ClosedOnboarding):
        raise _ended(snapshot.outcome)
    if snapshot.stage in TERMINAL_STAGES:
        raise _ended(snapshot.stage.value)
    return snapshot


def _browser_nonce(request: web.Request) -> tuple[str, bool]:
    """This browser's CSRF nonce from its cookie, or a new one (True: set the cookie)."""
    nonce = request.cookies.get(NONCE_COOKIE, "")
    if 16 <= len(nonce) <= 64:
        return nonce, False
    return secrets.token_urlsafe(24), True


def _with_nonce(response: web.Response, request: web.Request, nonce: str, new: bool) -> None:
    if new:
        response.set_cookie(
            NONCE_COOKIE,
            nonce,
            path=SETUP_PATH,
            httponly=True,
            samesite="Strict",
            secure=request.app[CONTEXT].secure_cookies,
        )


async def show_page(request: web.Request) -> web.Response:
    token, claims = _open_link(request)
    _rate_limited(request.app[CONTEXT].views, claims, "page views")
    status = await _live_status(request, claims)
    nonce, new = _browser_nonce(request)
    csrf = request.app[CONTEXT].signer.csrf_token(token, nonce)
    response = _html(setup_page(status, page_path=request.path, csrf=csrf))
    _with_nonce(response, request, nonce, new)
    return response


async def show_status(request: web.Request) -> web.Response:
    _, claims = _open_link(request)
    _rate_limited(request.app[CONTEXT].views, claims, "status requests")
    return web.json_response(status_json(await _live_status(request, claims)))


def _submission(values: FormValues) -> CustomerSetupComplete | str:
    """The update's body, or what is wrong with the form in words that name the field."""
    if not values.key_url:
        return "Key URL: enter the URL of your key, https://<vault>.vault.azure.net/keys/<name>"
    if len(values.key_url) > MAX_KEY_URL_CHARS:
        return f"Key URL: at most {MAX_KEY_URL_CHARS} characters; paste only the key's URL"
    try:
        return CustomerSetupComplete(key_url=values.key_url, note=values.note or None)
    except ValidationError as error:
        fields = ", ".join(str(e["loc"][0]) for e in error.errors() if e["loc"])
        return f"{fields or 'form'}: {error.errors()[0]['msg']}"


async def submit(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    token, claims = _open_link(request)
    _rate_limited(context.submissions, claims, "submissions")
    form = await request.post()  # over client_max_size: 413 from aiohttp
    nonce = request.cookies.get(NONCE_COOKIE, "")
    if not context.signer.csrf_matches(token, nonce, str(form.get("csrf_token", ""))):
        raise _refusal(
            403,
            "Form expired",
            "this form could not be verified (it is old, or cookies are blocked); "
            "reload the page and submit again",
        )
    values = FormValues(
        key_url=str(form.get("key_url", "")).strip(), note=str(form.get("note", "")).strip()
    )
    status = await _live_status(request, claims)
    csrf = context.signer.csrf_token(token, nonce)

    def again(notice: Notice, code: int) -> web.Response:
        page = setup_page(status, page_path=request.path, csrf=csrf, values=values, notice=notice)
        return _html(page, code)

    body = _submission(values)
    if isinstance(body, str):
        return again(Notice("error", body), 422)
    try:
        attempt = await context.gateway.submit(claims.workflow_id, body)
    except OperationRejected as rejected:
        # The workflow's own validator speaks here: it names the field and the fix.
        reason = str(rejected).removeprefix("submission rejected: ")
        return again(Notice("error", f"Not accepted: {reason}"), 422)
    except OnboardingClientError as error:
        log.warning("submission failed", workflow_id=claims.workflow_id, error=str(error))
        return again(Notice("error", "The submission could not be delivered; try again."), 503)
    log.info("submission accepted", workflow_id=claims.workflow_id, attempt=attempt.number)
    accepted = Notice(
        "ok",
        f"Submission #{attempt.number} accepted: {attempt.key_url}. Your service provider is "
        "checking the key now; this page follows the outcome.",
    )
    # Show the attempt in progress: the workflow takes it up in a moment.
    following = status.model_copy(update={"waiting_for": "azure"})
    return _html(setup_page(following, page_path=request.path, csrf=csrf, notice=accepted))


async def health(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def stylesheet(_: web.Request) -> web.Response:
    return web.Response(text=STYLESHEET, content_type="text/css")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers on every answer, refusals included; one log line without the token."""
    started = time.monotonic()
    try:
        response = await handler(request)
    except web.HTTPException as refusal:
        _finish(request, refusal, started)
        raise
    _finish(request, response, started)
    return response


def _finish(request: web.Request, response: web.StreamResponse, started: float) -> None:
    response.headers.update(SECURITY_HEADERS)
    if request.app[CONTEXT].secure_cookies:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    log.info(
        "request",
        method=request.method,
        route=request.match_info.route.name,
        status=response.status,
        workflow_id=request.get(WORKFLOW_ID),
        duration_ms=round((time.monotonic() - started) * 1000, 1),
    )


def build_app(context: PageContext) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[security_headers])
    app[CONTEXT] = context
    app.router.add_get("/healthz", health, name="health")
    app.router.add_get(STYLESHEET_PATH, stylesheet, name="stylesheet")
    app.router.add_get(SETUP_PATH + "{token}", show_page, name="page")
    app.router.add_post(SETUP_PATH + "{token}", submit, name="submit")
    app.router.add_get(SETUP_PATH + "{token}/status", show_status, name="status")
    return app
