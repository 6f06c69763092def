"""Temporal remote codec server: the UI and `temporal --codec-endpoint` decrypt payloads through it.

Run `uv run python codec_server.py` with the worker's PAYLOAD_CODEC_KEYS; see
docs/payload-encryption.md.
"""

from __future__ import annotations

import hmac
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field

import structlog
from aiohttp import hdrs, web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from config.secret_files import with_secret_files
from config.settings import SettingsError
from payload_codec.codec import AesGcmCodec, CodecConfigError, CodecKeys, PayloadDecryptionError

DEFAULT_CORS_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")
# Host headers answered by default: a page on another name (DNS rebinding) gets 421.
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "::1")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
ALLOWED_HEADERS = "content-type,x-namespace,authorization"
# A UI history page decodes many payloads in one request; each payload may be up to 2 MiB.
MAX_REQUEST_BYTES = 16 * 1024 * 1024
SHUTDOWN_TIMEOUT_SECONDS = 10.0

log = structlog.get_logger("codec_server")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


@dataclass(frozen=True, kw_only=True)
class CodecServerSettings:
    """Where the server listens, which browser origins may call it and the optional bearer token."""

    host: str = "127.0.0.1"
    port: int = 8081
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    token: str | None = field(default=None, repr=False)
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CodecServerSettings:
        """Read CODEC_SERVER_HOST/PORT, CODEC_CORS_ORIGINS (comma list) and CODEC_SERVER_TOKEN."""
        port = env.get("CODEC_SERVER_PORT", "8081").strip()
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise CodecConfigError(f"CODEC_SERVER_PORT={port!r} must be a port number, e.g. 8081")
        origins = tuple(
            o.strip().rstrip("/") for o in env.get("CODEC_CORS_ORIGINS", "").split(",") if o.strip()
        )
        host = env.get("CODEC_SERVER_HOST", "").strip() or "127.0.0.1"
        token = env.get("CODEC_SERVER_TOKEN", "").strip() or None
        no_token_ok = env.get("CODEC_SERVER_ALLOW_NO_TOKEN", "").strip().lower() == "true"
        if host not in LOOPBACK_HOSTS and token is None and not no_token_ok:
            raise CodecConfigError(
                f"CODEC_SERVER_TOKEN is required when CODEC_SERVER_HOST={host!r} is not loopback; "
                "set it, bind to 127.0.0.1, or (only when the port is published on the host's "
                "loopback, as in docker-compose.yml) set CODEC_SERVER_ALLOW_NO_TOKEN=true"
            )
        hosts = tuple(
            h.strip().lower() for h in env.get("CODEC_ALLOWED_HOSTS", "").split(",") if h.strip()
        )
        return cls(
            host=host,
            port=int(port),
            cors_origins=origins or DEFAULT_CORS_ORIGINS,
            token=token,
            allowed_hosts=hosts or DEFAULT_ALLOWED_HOSTS,
        )


def build_app(codec: PayloadCodec, settings: CodecServerSettings) -> web.Application:
    """POST /encode and /decode (protobuf-JSON Payloads), CORS preflight, optional bearer auth."""
    app = web.Application(
        client_max_size=MAX_REQUEST_BYTES,
        middlewares=[
            _host_middleware(settings.allowed_hosts),
            _cors_middleware(settings.cors_origins),
            _auth_middleware(settings.token),
        ],
    )
    encode = _transform_handler("encode", codec.encode)
    decode = _transform_handler("decode", codec.decode)
    # The "/{namespace}" prefix serves endpoints templated as http://host:8081/{namespace}.
    for prefix in ("", "/{namespace}"):
        app.add_routes(
            [
                web.post(f"{prefix}/encode", encode),
                web.post(f"{prefix}/decode", decode),
                web.options(f"{prefix}/encode", _preflight),
                web.options(f"{prefix}/decode", _preflight),
            ]
        )
    return app


async def _preflight(request: web.Request) -> web.Response:
    # The CORS middleware adds the allow-* headers; a foreign origin gets none, so browsers stop.
    return web.Response(status=204)


def _cors_middleware(origins: tuple[str, ...]) -> Callable[..., Awaitable[web.StreamResponse]]:
    def allow(request: web.Request, headers: MutableMapping[str, str]) -> None:
        origin = request.headers.get(hdrs.ORIGIN)
        headers[hdrs.VARY] = "Origin"
        if origin in origins:
            headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
            headers[hdrs.ACCESS_CONTROL_ALLOW_METHODS] = "POST, OPTIONS"
            headers[hdrs.ACCESS_CONTROL_ALLOW_HEADERS] = ALLOWED_HEADERS
            # The UI may send credentials; allowing them is safe as every origin is listed.
            headers[hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS] = "true"
            headers[hdrs.ACCESS_CONTROL_MAX_AGE] = "600"

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            # Errors need CORS headers too, or the browser hides the reason from the UI.
            allow(request, exc.headers)
            raise
        allow(request, response.headers)
        return response

    return cors


def _host_middleware(allowed: tuple[str, ...]) -> Callable[..., Awaitable[web.StreamResponse]]:
    names = frozenset(allowed)

    @web.middleware
    async def host_check(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = (request.host or "").lower()
        name = host[1:].split("]")[0] if host.startswith("[") else host.rsplit(":", 1)[0]
        if host not in names and name not in names:
            log.warning("codec request rejected", path=request.path, reason="Host not allowed")
            return _error(421, "Host header not allowed; list it in CODEC_ALLOWED_HOSTS")
        return await handler(request)

    return host_check


def _auth_middleware(token: str | None) -> Callable[..., Awaitable[web.StreamResponse]]:
    expected = f"Bearer {token}".encode() if token else None

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Browsers never send credentials on a preflight, so OPTIONS stays open.
        if expected is None or request.method == hdrs.METH_OPTIONS:
            return await handler(request)
        given = request.headers.get(hdrs.AUTHORIZATION, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("codec request rejected", path=request.path, reason="bad bearer token")
            raise web.HTTPUnauthorized(
                text='{"error": "missing or wrong Authorization: Bearer token"}',
                content_type="application/json",
                headers={hdrs.WWW_AUTHENTICATE: "Bearer"},
            )
        return await handler(request)

    return auth


def _transform_handler(action: str, transform: Transform) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        namespace = request.headers.get("X-Namespace") or request.match_info.get("namespace", "")
        if request.content_type != "application/json":
            return _error(415, "send the payloads as Content-Type: application/json")
        try:
            payloads = json_format.Parse(await request.read(), Payloads())
        except json_format.ParseError as exc:
            return _error(400, f"body is not protobuf-JSON Payloads: {exc}")
        try:
            result = await transform(payloads.payloads)
        except PayloadDecryptionError as exc:
            log.warning(f"codec {action} failed", namespace=namespace, key_id=exc.key_id)
            return _error(422, str(exc))
        log.info(f"codec {action}", namespace=namespace, payloads=len(result))
        return web.json_response(text=json_format.MessageToJson(Payloads(payloads=result)))

    return handle


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def main() -> int:
    try:
        env = with_secret_files(os.environ)
        keys = CodecKeys.from_env(env)
        settings = CodecServerSettings.from_env(env)
    except (CodecConfigError, SettingsError) as exc:
        print(f"codec server: {exc}", file=sys.stderr)
        return 2
    if keys is None:
        print(
            "codec server: PAYLOAD_CODEC_KEYS is not set; give it the same keys as the worker",
            file=sys.stderr,
        )
        return 2
    log.info(
        "codec server starting",
        host=settings.host,
        port=settings.port,
        cors_origins=settings.cors_origins,
        auth="bearer" if settings.token else "none",
        key_ids=sorted(keys.keys),
        active_key_id=keys.active_key_id,
    )
    # run_app stops on SIGINT/SIGTERM, finishing in-flight requests within the timeout.
    web.run_app(
        build_app(AesGcmCodec(keys), settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        access_log=None,
        print=None,
    )
    log.info("codec server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
