"""Which Client.connect arguments the SDK's standard TEMPORAL_* variables and an envconfig profile
produce.

connect_temporal() runs for real; only Client.connect is replaced, by a recorder, because a dev
server speaks neither TLS nor API keys (tests/worker/test_profile_connects.py covers the plain
case against a real server).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import TLSConfig

from client.connection import connect_temporal, resolve_target
from config.settings import SettingsError, TemporalSettings

API_KEY = "cloud-api-key-0123456789"
KEY_PEM = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"


@pytest.fixture
def pems(tmp_path: Path) -> dict[str, Path]:
    """Client cert, client key and server CA files with recognisable contents."""
    files = {name: tmp_path / f"{name}.pem" for name in ("cert", "key", "ca")}
    for name, path in files.items():
        path.write_text(KEY_PEM if name == "key" else f"-----BEGIN {name.upper()}-----\n")
    return files


@pytest.fixture
def connect_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Each Client.connect call as {"target_host": ..., **kwargs}; nothing is dialled."""
    calls: list[dict[str, Any]] = []

    async def record(target_host: str, **kwargs: Any) -> str:
        calls.append({"target_host": target_host, **kwargs})
        return "client"

    monkeypatch.setattr(Client, "connect", record)
    return calls


async def _connect_args(env: dict[str, str], calls: list[dict[str, Any]]) -> dict[str, Any]:
    await connect_temporal(TemporalSettings.from_env(env))
    assert len(calls) == 1
    args = dict(calls[0])
    args.pop("data_converter")
    return args


def _profile(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "temporal.toml"
    path.write_text(body)
    return path


async def test_plain_defaults(connect_calls: list[dict[str, Any]]) -> None:
    """Nothing set: the local dev server, plain gRPC, no API key."""
    assert await _connect_args({}, connect_calls) == {
        "target_host": "localhost:7233",
        "namespace": "default",
        "tls": False,
    }


async def test_mtls_from_variables(
    pems: dict[str, Path], connect_calls: list[dict[str, Any]]
) -> None:
    """Cert, key and CA files are read into TLSConfig bytes, with the server name as domain."""
    args = await _connect_args(
        {
            "TEMPORAL_ADDRESS": "temporal.internal:7233",
            "TEMPORAL_NAMESPACE": "cmk",
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(pems["cert"]),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(pems["key"]),
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pems["ca"]),
            "TEMPORAL_TLS_SERVER_NAME": "frontend.temporal.internal",
        },
        connect_calls,
    )
    assert args == {
        "target_host": "temporal.internal:7233",
        "namespace": "cmk",
        "tls": TLSConfig(
            client_cert=b"-----BEGIN CERT-----\n",
            client_private_key=KEY_PEM.encode(),
            server_root_ca_cert=b"-----BEGIN CA-----\n",
            domain="frontend.temporal.internal",
        ),
    }


async def test_inline_pem_and_grpc_headers_from_variables(
    connect_calls: list[dict[str, Any]],
) -> None:
    """The _DATA forms carry the PEM text itself (a secret store's env injection) and
    TEMPORAL_GRPC_META_* become headers; neither the key nor a header shows in the repr."""
    env = {
        "TEMPORAL_TLS_CLIENT_CERT_DATA": "-----BEGIN CERT-----\n",
        "TEMPORAL_TLS_CLIENT_KEY_DATA": KEY_PEM,
        "TEMPORAL_GRPC_META_X_TENANT": "grpc-meta-secret",
    }
    args = await _connect_args(env, connect_calls)
    assert args["tls"] == TLSConfig(
        client_cert=b"-----BEGIN CERT-----\n", client_private_key=KEY_PEM.encode()
    )
    assert args["rpc_metadata"] == {"x-tenant": "grpc-meta-secret"}
    text = repr(TemporalSettings.from_env(env))
    assert "c2VjcmV0LWtleS1tYXRlcmlhbA" not in text and "grpc-meta-secret" not in text


async def test_api_key_implies_tls(connect_calls: list[dict[str, Any]]) -> None:
    """Temporal Cloud: an API key alone means TLS with the system's roots, and the key is sent."""
    args = await _connect_args(
        {
            "TEMPORAL_ADDRESS": "eu-west-1.aws.api.temporal.io:7233",
            "TEMPORAL_NAMESPACE": "cmk.a1b2c",
            "TEMPORAL_API_KEY": API_KEY,
        },
        connect_calls,
    )
    assert args == {
        "target_host": "eu-west-1.aws.api.temporal.io:7233",
        "namespace": "cmk.a1b2c",
        "tls": True,
        "api_key": API_KEY,
    }


async def test_tls_switch_turns_tls_on_or_off(connect_calls: list[dict[str, Any]]) -> None:
    """TEMPORAL_TLS=true: server TLS without client certs; =false: plain gRPC, which an API key
    refuses (it would travel in clear text)."""
    await connect_temporal(TemporalSettings.from_env({"TEMPORAL_TLS": "true"}))
    await connect_temporal(TemporalSettings.from_env({"TEMPORAL_TLS": "FALSE"}))
    assert [call["tls"] for call in connect_calls] == [True, False]
    with pytest.raises(SettingsError, match="TEMPORAL_API_KEY.*TLS is off"):
        TemporalSettings.from_env({"TEMPORAL_TLS": "FALSE", "TEMPORAL_API_KEY": "k"})


async def test_mtls_profile(
    tmp_path: Path, pems: dict[str, Path], connect_calls: list[dict[str, Any]]
) -> None:
    """A profile's address, namespace, TLS files, server name and grpc_meta reach Client.connect."""
    config = _profile(
        tmp_path,
        f"""
[profile.default]
address = "localhost:7233"

[profile.prod]
address = "temporal.prod.internal:7233"
namespace = "cmk-prod"
[profile.prod.tls]
client_cert_path = "{pems["cert"]}"
client_key_path = "{pems["key"]}"
server_ca_cert_path = "{pems["ca"]}"
server_name = "frontend.prod.internal"
[profile.prod.grpc_meta]
x-tenant = "isv"
""",
    )
    args = await _connect_args(
        {"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "prod"}, connect_calls
    )
    assert args == {
        "target_host": "temporal.prod.internal:7233",
        "namespace": "cmk-prod",
        "tls": TLSConfig(
            client_cert=b"-----BEGIN CERT-----\n",
            client_private_key=KEY_PEM.encode(),
            server_root_ca_cert=b"-----BEGIN CA-----\n",
            domain="frontend.prod.internal",
        ),
        "rpc_metadata": {"x-tenant": "isv"},
    }


async def test_cloud_profile_with_inline_key_and_default_profile_name(
    tmp_path: Path, connect_calls: list[dict[str, Any]]
) -> None:
    """TEMPORAL_CONFIG_FILE alone selects [profile.default]; an API key there implies TLS."""
    config = _profile(
        tmp_path,
        f"""
[profile.default]
address = "eu-west-1.aws.api.temporal.io:7233"
namespace = "cmk.a1b2c"
api_key = "{API_KEY}"
""",
    )
    args = await _connect_args({"TEMPORAL_CONFIG_FILE": str(config)}, connect_calls)
    assert args == {
        "target_host": "eu-west-1.aws.api.temporal.io:7233",
        "namespace": "cmk.a1b2c",
        "tls": True,
        "api_key": API_KEY,
    }


async def test_explicit_variables_win_over_the_profile(
    tmp_path: Path, pems: dict[str, Path], connect_calls: list[dict[str, Any]]
) -> None:
    """Per value: TEMPORAL_* beats the profile; what the variables leave unset the profile fills."""
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_text("-----BEGIN OTHER CA-----\n")
    config = _profile(
        tmp_path,
        f"""
[profile.prod]
address = "from-profile:7233"
namespace = "profile-ns"
api_key = "profile-key"
[profile.prod.tls]
server_ca_cert_path = "{pems["ca"]}"
server_name = "profile.internal"
""",
    )
    args = await _connect_args(
        {
            "TEMPORAL_CONFIG_FILE": str(config),
            "TEMPORAL_PROFILE": "prod",
            "TEMPORAL_ADDRESS": "from-env:7233",
            "TEMPORAL_API_KEY": "env-key",
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(other_ca),
            "TEMPORAL_NAMESPACE": " ",  # blank means unset, as compose passes it
        },
        connect_calls,
    )
    assert args == {
        "target_host": "from-env:7233",
        "namespace": "profile-ns",
        "tls": TLSConfig(
            server_root_ca_cert=b"-----BEGIN OTHER CA-----\n", domain="profile.internal"
        ),
        "api_key": "env-key",
    }


async def test_profile_tls_disabled_and_the_variable_overriding_it(
    tmp_path: Path, connect_calls: list[dict[str, Any]]
) -> None:
    """`disabled = true` with an API key is refused; TEMPORAL_TLS=true wins over the profile."""
    config = _profile(
        tmp_path, '[profile.dev]\napi_key = "k"\n[profile.dev.tls]\ndisabled = true\n'
    )
    env = {"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "dev"}
    with pytest.raises(SettingsError, match="TEMPORAL_API_KEY.*TLS is off"):
        TemporalSettings.from_env(env)
    await connect_temporal(TemporalSettings.from_env(env | {"TEMPORAL_TLS": "true"}))
    assert [call["tls"] for call in connect_calls] == [True]


def test_secrets_stay_out_of_repr(tmp_path: Path, pems: dict[str, Path]) -> None:
    """API key, inline key PEM and gRPC headers never show in the repr that logs and
    tracebacks print; file paths and the profile name do, for debugging."""
    config = _profile(
        tmp_path,
        f'''
[profile.prod]
api_key = "{API_KEY}"
[profile.prod.tls]
client_cert_path = "{pems["cert"]}"
client_key_data = """{KEY_PEM}"""
[profile.prod.grpc_meta]
authorization = "Bearer grpc-meta-secret"
''',
    )
    settings = TemporalSettings.from_env(
        {"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "prod"}
    )
    text = repr(settings)
    for secret in (API_KEY, "c2VjcmV0LWtleS1tYXRlcmlhbA", "grpc-meta-secret"):
        assert secret not in text
    assert str(pems["cert"]) in text and f"prod ({config})" in text
    tls = settings.tls_config()
    assert isinstance(tls, TLSConfig) and tls.client_private_key == KEY_PEM.encode()


@pytest.mark.parametrize(
    ("env", "profile", "expected"),
    [
        ({"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml"}, None, "TEMPORAL_CONFIG_FILE="),
        ({"TEMPORAL_PROFILE": "staging"}, "[profile.prod]\n", "no [profile.staging]"),
        ({"TEMPORAL_PROFILE": "prod"}, '[profile.prod]\nadress = "x"\n', "unknown field `adress`"),
        ({"TEMPORAL_PROFILE": "prod"}, "[profile.prod\n", "TOML parse error"),
        (
            {"TEMPORAL_PROFILE": "prod"},
            '[profile.prod.tls]\nclient_cert_path = "/gone/c.pem"\n'
            'client_key_path = "/gone/k.pem"\n',
            "client_cert_path = '/gone/c.pem' in profile 'prod'",
        ),
        (
            {"TEMPORAL_TLS_CERT": "/c.pem"},
            None,
            "TEMPORAL_TLS_CERT is no longer read; rename it to TEMPORAL_TLS_CLIENT_CERT_PATH",
        ),
        ({"TEMPORAL_TLS_KEY": "/k.pem"}, None, "rename it to TEMPORAL_TLS_CLIENT_KEY_PATH"),
        ({"TEMPORAL_TLS_CA": "/ca.pem"}, None, "rename it to TEMPORAL_TLS_SERVER_CA_CERT_PATH"),
        (
            {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/gone/ca.pem"},
            None,
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH='/gone/ca.pem' is not a readable file",
        ),
        (
            {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "{ca}", "TEMPORAL_TLS_SERVER_CA_CERT_DATA": "x"},
            None,
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_CA_CERT_DATA; unset one",
        ),
        (
            {"TEMPORAL_TLS_CLIENT_CERT": "/c.pem"},
            None,
            "TEMPORAL_TLS_CLIENT_CERT is not a Temporal SDK variable and would be ignored",
        ),
        ({"TEMPORAL_TLS": "maybe"}, None, "TEMPORAL_TLS='maybe'"),
        (
            {"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION": "true"},
            None,
            "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION='true' is not supported",
        ),
        (
            {"TEMPORAL_TLS": "false", "TEMPORAL_TLS_SERVER_CA_CERT_PATH": "{ca}"},
            None,
            "TLS is off",
        ),
        (
            {"TEMPORAL_TLS_CLIENT_KEY_PATH": "{ca}"},
            None,
            "TEMPORAL_TLS_CLIENT_CERT_PATH is required with mTLS",
        ),
        (
            {"TEMPORAL_TLS_CLIENT_CERT_DATA": "pem"},
            None,
            "TEMPORAL_TLS_CLIENT_KEY_PATH is required with mTLS",
        ),
    ],
)
def test_bad_connection_settings_say_what_to_fix(
    tmp_path: Path,
    pems: dict[str, Path],
    env: dict[str, str],
    profile: str | None,
    expected: str,
) -> None:
    """Each mistake is a SettingsError naming the variable or profile field, with the fix."""
    env = {name: value.format(ca=pems["ca"]) for name, value in env.items()}
    if profile is not None:
        env["TEMPORAL_CONFIG_FILE"] = str(_profile(tmp_path, profile))
    with pytest.raises(SettingsError) as raised:
        TemporalSettings.from_env(env)
    assert expected in str(raised.value)


def test_a_broken_profile_line_is_located_but_not_quoted(tmp_path: Path) -> None:
    """The SDK's TOML errors quote the offending line; an API key there must not be echoed."""
    config = _profile(tmp_path, f'[profile.prod]\napi_key = "{API_KEY}\n')
    with pytest.raises(SettingsError) as raised:
        TemporalSettings.from_env({"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "prod"})
    assert "line 2" in str(raised.value)
    assert API_KEY not in str(raised.value)


def test_a_developer_config_file_is_not_read_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE the SDK's default file is ignored."""
    (tmp_path / "temporalio").mkdir()
    (tmp_path / "temporalio" / "temporal.toml").write_text(
        '[profile.default]\naddress = "somewhere-else:7233"\n'
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert TemporalSettings.from_env({}).address == "localhost:7233"
    selected = TemporalSettings.from_env({"TEMPORAL_PROFILE": "default"})
    assert selected.address == "somewhere-else:7233"


def test_starter_flags_win_over_variables_over_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's target: --address beats TEMPORAL_ADDRESS beats the profile's address."""
    config = _profile(tmp_path, '[profile.p]\naddress = "profile:7233"\nnamespace = "pns"\n')
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(config))
    monkeypatch.setenv("TEMPORAL_PROFILE", "p")
    assert resolve_target(None, None, None).address == "profile:7233"
    assert resolve_target(None, None, None).namespace == "pns"
    monkeypatch.setenv("TEMPORAL_ADDRESS", "env:7233")
    assert resolve_target(None, None, None).address == "env:7233"
    assert resolve_target("flag:7233", "fns", "q").address == "flag:7233"
    monkeypatch.setenv("TEMPORAL_PROFILE", "missing")
    # A broken profile leaves the defaults here; connect() reports it with exit code 2.
    assert resolve_target(None, None, None).namespace == "default"


def test_client_reads_secrets_from_their_files(tmp_path: Path) -> None:
    """starter.py and the customer page read TEMPORAL_API_KEY_FILE and PAYLOAD_CODEC_KEYS_FILE
    like the worker, so compose can hand all three the same secret files."""
    from client.connection import client_settings
    from client.errors import InvalidClientInput
    from payload_codec.codec import generate_key

    api_key_file = tmp_path / "api-key"
    api_key_file.write_text(API_KEY + "\n")
    keys_file = tmp_path / "codec-keys"
    keys_file.write_text(f"k1:{generate_key()}\n")
    env = {
        "TEMPORAL_API_KEY_FILE": str(api_key_file),
        "PAYLOAD_CODEC_KEYS_FILE": str(keys_file),
    }
    settings = client_settings(env)
    assert settings.api_key == API_KEY
    assert settings.codec_keys is not None and settings.codec_keys.active_key_id == "k1"
    with pytest.raises(InvalidClientInput, match="PAYLOAD_CODEC_KEYS_FILE"):
        client_settings({"PAYLOAD_CODEC_KEYS_FILE": str(tmp_path / "missing")})
