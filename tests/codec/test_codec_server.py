"""Codec server over HTTP: encode/decode, CORS preflight for the UI and bearer auth."""

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from payload_codec.codec import AesGcmCodec, CodecConfigError
from payload_codec.server import CodecServerSettings, build_app
from tests.codec.helpers import TENANT_ID, keys

UI_ORIGIN = "http://localhost:8233"
TOKEN = "operator-token"


def _body(*payloads: Payload) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


def _payloads(text: str) -> list[Payload]:
    return list(json_format.Parse(text, Payloads()).payloads)


@pytest.fixture
async def http() -> AsyncIterator[TestClient]:
    app = build_app(AesGcmCodec(keys()), CodecServerSettings(token=TOKEN))
    async with TestClient(TestServer(app)) as client:
        yield client


def _auth(**extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", **extra}


async def test_encode_then_decode_over_http(http: TestClient) -> None:
    """/encode encrypts and /decode restores the payloads in protobuf-JSON form."""
    plain = Payload(metadata={"encoding": b"json/plain"}, data=f'"{TENANT_ID}"'.encode())
    encoded = await http.post("/encode", data=_body(plain), headers=_auth(**{"X-Namespace": "d"}))
    assert encoded.status == 200
    encoded_text = await encoded.text()
    assert TENANT_ID not in encoded_text
    decoded = await http.post("/decode", data=encoded_text, headers=_auth())
    assert decoded.status == 200
    assert _payloads(await decoded.text()) == [plain]


async def test_namespace_templated_path_decodes(http: TestClient) -> None:
    """An endpoint templated as http://host/{namespace} reaches /<namespace>/decode."""
    response = await http.post("/default/decode", data=_body(), headers=_auth())
    assert response.status == 200


async def test_preflight_allows_the_ui_origin_and_its_headers(http: TestClient) -> None:
    """OPTIONS from the UI origin succeeds without a token and allows the headers the UI sends."""
    response = await http.options(
        "/decode",
        headers={
            "Origin": UI_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"]
    assert {"content-type", "x-namespace", "authorization"} <= set(allowed.split(","))


async def test_foreign_origin_gets_no_cors_headers(http: TestClient) -> None:
    """An origin that is not configured gets no Access-Control-Allow-Origin."""
    response = await http.options("/decode", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_decode_response_carries_cors_headers(http: TestClient) -> None:
    """The POST answer to the UI carries the CORS header so the browser hands it over."""
    response = await http.post("/decode", data=_body(), headers=_auth(Origin=UI_ORIGIN))
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == UI_ORIGIN


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", TOKEN])
async def test_missing_or_wrong_token_is_401(http: TestClient, authorization: str | None) -> None:
    """Without exactly `Bearer <token>` the server refuses with 401, CORS headers included."""
    headers = {"Content-Type": "application/json", "Origin": UI_ORIGIN}
    if authorization:
        headers["Authorization"] = authorization
    response = await http.post("/decode", data=_body(), headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["Access-Control-Allow-Origin"] == UI_ORIGIN


async def test_no_token_configured_means_open() -> None:
    """With no CODEC_SERVER_TOKEN requests need no Authorization header."""
    app = build_app(AesGcmCodec(keys()), CodecServerSettings())
    async with TestClient(TestServer(app)) as client:
        response = await client.post(
            "/decode", data=_body(), headers={"Content-Type": "application/json"}
        )
        assert response.status == 200


async def test_undecryptable_payload_is_a_clear_422(http: TestClient) -> None:
    """A payload under an unknown key id is refused with the key id in the error."""
    (foreign,) = await AesGcmCodec(keys("x", x=bytes(32))).encode([Payload(data=b"1")])
    response = await http.post("/decode", data=_body(foreign), headers=_auth())
    assert response.status == 422
    assert "key id 'x' is not configured" in (await response.json())["error"]


async def test_malformed_body_is_400_and_wrong_type_415(http: TestClient) -> None:
    """Bodies that are not protobuf-JSON Payloads are rejected, not crashed on."""
    bad = await http.post("/decode", data="{not json", headers=_auth())
    assert bad.status == 400
    text = await http.post("/decode", data="x", headers=_auth(**{"Content-Type": "text/plain"}))
    assert text.status == 415


def test_settings_from_env() -> None:
    """Host, port, origins and token come from CODEC_SERVER_* / CODEC_CORS_ORIGINS with defaults."""
    assert CodecServerSettings.from_env({}) == CodecServerSettings()
    settings = CodecServerSettings.from_env(
        {
            "CODEC_SERVER_HOST": "0.0.0.0",
            "CODEC_SERVER_PORT": "9000",
            "CODEC_CORS_ORIGINS": "https://ui.example/, http://localhost:8080",
            "CODEC_SERVER_TOKEN": TOKEN,
        }
    )
    assert settings == CodecServerSettings(
        host="0.0.0.0",
        port=9000,
        cors_origins=("https://ui.example", "http://localhost:8080"),
        token=TOKEN,
    )
    assert TOKEN not in repr(settings)


def test_bad_port_names_the_variable() -> None:
    """A non-numeric port fails with a message naming CODEC_SERVER_PORT."""
    with pytest.raises(CodecConfigError, match="CODEC_SERVER_PORT"):
        CodecServerSettings.from_env({"CODEC_SERVER_PORT": "http"})
