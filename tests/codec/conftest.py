"""A dev server whose default client encrypts, and a codec server in front of the same keys."""

import shutil
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from temporalio.testing import WorkflowEnvironment

from models import search_attributes
from payload_codec.codec import AesGcmCodec, data_converter
from payload_codec.server import CodecServerSettings, build_app
from tests.codec.helpers import keys

CODEC_TOKEN = "integration-operator-token"


@pytest.fixture(scope="session")
async def codec_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=shutil.which("temporal"),
        data_converter=data_converter(keys()),
        search_attributes=search_attributes.ALL,
    )
    async with env:
        yield env


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
