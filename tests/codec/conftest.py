"""The session's dev server through a client that encrypts, and a codec server in front of the
same keys."""

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from temporalio.testing import WorkflowEnvironment

from harness.local_stack import DevServer
from payload_codec.codec import AesGcmCodec, data_converter
from payload_codec.server import CodecServerSettings, build_app
from tests.codec.helpers import keys
from tests.conftest import dev_environment

CODEC_TOKEN = "integration-operator-token"


@pytest.fixture(scope="session")
async def codec_env(temporal_dev_server: DevServer) -> WorkflowEnvironment:
    """The shared dev server (tests/conftest.py); its client encrypts every payload."""
    return await dev_environment(temporal_dev_server, data_converter(keys()))


@pytest.fixture(scope="session")
async def codec_server_url() -> AsyncIterator[str]:
    app = build_app(AesGcmCodec(keys()), CodecServerSettings(token=CODEC_TOKEN))
    runner = web.AppRunner(app)
    await runner.setup()
    # Port 0: the OS picks a free port, so parallel runs never collide.
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()
