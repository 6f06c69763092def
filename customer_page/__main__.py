"""`python -m customer_page`: the customer setup page, configured only by the environment.

Temporal: the same TEMPORAL_* variables (and profile, TLS, API key, codec keys) as starter.py.
The page: customer_page/settings.py. It listens on 127.0.0.1 unless CUSTOMER_PAGE_HOST says
otherwise; put a TLS-terminating proxy in front of it (README, "Customer page").
"""

from __future__ import annotations

import asyncio
import sys

import structlog
from aiohttp import web

from client.connection import connect, resolve_target
from client.errors import OnboardingClientError
from config.logging_setup import configure_logging
from config.settings import SettingsError
from customer_page.app import PageContext, build_app
from customer_page.gateway import TemporalGateway
from customer_page.rate_limit import RateLimiter
from customer_page.revocation import RevocationList
from customer_page.settings import PageSettings

EXIT_BAD_SETTINGS = 2
EXIT_TEMPORAL_UNREACHABLE = 3

log = structlog.get_logger("cmk.customer_page")


async def serve(settings: PageSettings) -> None:
    target = resolve_target(None, None, None)
    client = await connect(target)
    context = PageContext(
        signer=settings.signer,
        gateway=TemporalGateway(client, target),
        revocations=RevocationList(settings.revocations_file),
        submissions=RateLimiter(settings.submissions_per_minute),
        secure_cookies=settings.secure_cookies,
    )
    # access_log=None: the request path holds the link's token.
    runner = web.AppRunner(build_app(context), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    log.info(
        "customer page started",
        listen=f"{settings.host}:{settings.port}",
        base_url=settings.base_url,
        temporal=target.address,
        namespace=target.namespace,
        task_queue=target.task_queue,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> int:
    try:
        settings = PageSettings.from_env()
    except SettingsError as error:
        print(f"customer_page: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    configure_logging(settings.log_format)
    try:
        asyncio.run(serve(settings))
    except OnboardingClientError as error:
        print(f"customer_page: {error}", file=sys.stderr)
        return EXIT_TEMPORAL_UNREACHABLE
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
