"""docker-compose.yml, Dockerfile and .env.example agree with the code (Docker is not run)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; types-PyYAML is not a dependency

from client.connection import DEFAULT_TASK_QUEUE
from models import search_attributes

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PWD|KEYS?$|TOKEN")
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    return compose["services"][name]


def _env(compose: dict[str, Any], name: str) -> dict[str, str]:
    return {k: str(v) for k, v in _service(compose, name).get("environment", {}).items()}


def test_stack_has_every_service(compose: dict[str, Any]) -> None:
    """Postgres, schema set-up, server, search-attribute set-up, UI, worker and demo are defined."""
    assert set(compose["services"]) == {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-setup",
        "temporal-ui",
        "worker",
        "demo",
        "codec-server",
        "customer-page",
    }


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    """Every image names an exact version, never `latest` or no tag."""
    for name, service in compose["services"].items():
        image = service["image"]
        if "build" in service:
            continue
        assert re.search(r":\d+\.\d+(\.\d+)?$", image), f"{name}: {image} is not pinned"
    admin_tools = _service(compose, "temporal-schema")["image"].split(":")[1]
    assert _service(compose, "temporal")["image"].split(":")[1] == admin_tools


def test_start_order_is_gated_on_health(compose: dict[str, Any]) -> None:
    """Schema waits for a healthy database, the server for the schema, clients for the server."""

    def condition(service: str, dependency: str) -> str:
        return str(_service(compose, service)["depends_on"][dependency]["condition"])

    assert "healthcheck" in _service(compose, "postgresql")
    assert "healthcheck" in _service(compose, "temporal")
    assert condition("temporal-schema", "postgresql") == "service_healthy"
    assert condition("temporal", "temporal-schema") == "service_completed_successfully"
    assert condition("temporal-setup", "temporal") == "service_healthy"
    assert condition("temporal-ui", "temporal") == "service_healthy"
    for client in ("worker", "demo"):
        assert condition(client, "temporal-setup") == "service_completed_successfully"


def test_schema_setup_covers_both_databases(compose: dict[str, Any]) -> None:
    """Both the main and the visibility schema are created and updated."""
    script = "\n".join(_service(compose, "temporal-schema")["command"])
    for database in ("temporal", "temporal_visibility"):
        assert f"--db {database} setup-schema" in script
        assert f"--db {database} update-schema" in script
    assert "postgresql/v12/visibility/versioned" in script


def test_setup_registers_the_workflow_search_attributes(compose: dict[str, Any]) -> None:
    """The one-shot set-up registers exactly the workflow's search attributes, as Keyword."""
    script = "\n".join(_service(compose, "temporal-setup")["command"])
    loop = re.search(r"for name in ([\w ]+);", script)
    assert loop is not None
    assert set(loop.group(1).split()) == {key.name for key in search_attributes.ALL}
    assert all(key.indexed_value_type.name == "KEYWORD" for key in search_attributes.ALL)
    assert "--type Keyword" in script


def test_ports(compose: dict[str, Any]) -> None:
    """gRPC on 7233, the UI on 8233 like the dev server, the worker's metrics on METRICS_PORT,
    all published on the host's loopback by default."""
    assert _service(compose, "temporal")["ports"] == ["${PUBLISH_IP:-127.0.0.1}:7233:7233"]
    assert _service(compose, "temporal-ui")["ports"] == ["${PUBLISH_IP:-127.0.0.1}:8233:8080"]
    metrics_port = _env(compose, "worker")["METRICS_PORT"]
    assert _service(compose, "worker")["ports"] == [f"127.0.0.1:{metrics_port}:{metrics_port}"]
    assert f":{metrics_port}/metrics" in " ".join(
        _service(compose, "worker")["healthcheck"]["test"]
    )


def test_worker_talks_to_the_compose_server(compose: dict[str, Any]) -> None:
    """Worker and demo reach the `temporal` service on its gRPC port, on the CLI's task queue."""
    for name in ("worker", "demo"):
        env = _env(compose, name)
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["TEMPORAL_TASK_QUEUE"] == f"${{TEMPORAL_TASK_QUEUE:-{DEFAULT_TASK_QUEUE}}}"
    assert _env(compose, "worker")["AZURE_MODE"] == "azure"
    demo = _service(compose, "demo")
    assert demo["profiles"] == ["demo"]
    command = demo["command"]
    assert command[:3] == ["python", "starter.py", "demo"]
    assert command[command.index("--temporal-address") + 1] == "temporal:7233"


def test_no_secret_values_in_the_file(compose: dict[str, Any]) -> None:
    """Every secret-looking variable is a ${...} reference to .env or a /run/secrets file."""
    for name, service in compose["services"].items():
        for key, value in service.get("environment", {}).items():
            if SECRET_NAME.search(key.removesuffix("_FILE")) and not key.endswith("_NO_TOKEN"):
                literal = not str(value).startswith(("${", "/run/secrets/"))
                assert not literal, f"{name}.{key} holds a literal value"


def test_no_service_gets_a_secret_as_an_environment_value(compose: dict[str, Any]) -> None:
    """Every secret the code reads (config/secret_files.py) reaches every service only as a
    `<NAME>_FILE` pointing into /run/secrets, from a compose secret the service mounts."""
    from config.secret_files import SECRET_VARIABLES

    for name, service in compose["services"].items():
        env = _env(compose, name)
        given = set(env) & set(SECRET_VARIABLES)
        assert not given, f"{name} gets {sorted(given)} as environment values"
        for variable in SECRET_VARIABLES:
            path = env.get(f"{variable}_FILE")
            if path is None or path.startswith("${"):
                continue
            secret = path.removeprefix("/run/secrets/")
            assert path.startswith("/run/secrets/") and secret in service.get("secrets", []), (
                f"{name}.{variable}_FILE={path} is not a mounted compose secret"
            )
    mounted = {s for service in compose["services"].values() for s in service.get("secrets", [])}
    assert mounted == set(compose["secrets"])
    assert all(spec["file"].startswith("./secrets/") for spec in compose["secrets"].values()), (
        "secret files live in the git-ignored secrets/"
    )
    assert "secrets/" in (ROOT / ".gitignore").read_text().split()


def test_worker_secrets_come_from_files(compose: dict[str, Any]) -> None:
    """The Azure secret is always a file; the optional ones (webhook, codec keys, page secret) are
    mounted and turned on by pointing their `_FILE` variable at the mount in .env."""
    worker = _service(compose, "worker")
    env = _env(compose, "worker")
    assert env["AZURE_CLIENT_SECRET_FILE"] == "/run/secrets/azure_client_secret"
    for variable in ("NOTIFIER_WEBHOOK_URL", "PAYLOAD_CODEC_KEYS", "CUSTOMER_PAGE_SECRET"):
        assert env[f"{variable}_FILE"] == f"${{{variable}_FILE:-}}"
    assert set(worker["secrets"]) == {
        "azure_client_secret",
        "notifier_webhook_url",
        "payload_codec_keys",
        "customer_page_secret",
    }


def test_codec_server_checks_host_and_is_loopback_only(compose: dict[str, Any]) -> None:
    env = _env(compose, "codec-server")
    assert env["CODEC_ALLOWED_HOSTS"] == "localhost:8081,127.0.0.1:8081"
    assert _service(compose, "codec-server")["ports"] == ["127.0.0.1:8081:8081"]


def test_env_example_names_every_variable_the_file_uses() -> None:
    """Each ${VAR} in docker-compose.yml appears in .env.example, which holds no real secrets."""
    used = set(VARIABLE.findall((ROOT / "docker-compose.yml").read_text()))
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert used <= set(example), f"missing from .env.example: {sorted(used - set(example))}"
    from config.secret_files import SECRET_VARIABLES

    # Only the *_FILE pointers: a secret's own variable in .env would invite putting it there.
    assert not set(example) & set(SECRET_VARIABLES), set(example) & set(SECRET_VARIABLES)


def test_dockerfile_is_locked_slim_and_non_root() -> None:
    """The image installs from uv.lock (--frozen), runs worker.py, and not as root."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev" in dockerfile
    assert re.search(r"ARG PYTHON_IMAGE=python:3\.11\.\d+-slim", dockerfile)
    assert re.search(r"FROM ghcr.io/astral-sh/uv:\d+\.\d+\.\d+", dockerfile)
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert 'CMD ["python", "worker.py"]' in dockerfile
    # Bytecode for what the workflow sandbox re-imports per run, so it is never compiled there.
    assert re.search(r"compileall .*--invalidation-mode checked-hash .*workflows", dockerfile)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git"} <= set(ignored)


def test_worker_environment_names_are_settings_the_worker_reads(compose: dict[str, Any]) -> None:
    """Every variable given to the worker is one settings.py, the SDK's envconfig or codec.py
    reads; defaults agree."""
    from config import settings, temporal_envconfig
    from payload_codec import codec

    known = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', (ROOT / "config" / "settings.py").read_text()))
    from config.secret_files import SECRET_VARIABLES

    known |= {f"{name}_FILE" for name in SECRET_VARIABLES}
    known |= temporal_envconfig.STANDARD_VARIABLES | {codec.ENV_KEYS, codec.ENV_ACTIVE_KEY}
    known |= set(
        re.findall(r"([A-Z][A-Z0-9_]+)", (ROOT / "customer_page" / "settings.py").read_text())
    )
    for name in ("worker", "demo"):
        unknown = set(_env(compose, name)) - known
        assert not unknown, f"{name} sets variables settings.py never reads: {sorted(unknown)}"
    assert settings.DEFAULT_TASK_QUEUE == DEFAULT_TASK_QUEUE
    assert {"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_SUBSCRIPTION_ID"} <= set(
        _env(compose, "worker")
    )


def test_codec_server_decrypts_for_the_ui(compose: dict[str, Any]) -> None:
    """The codec server runs payload_codec/server.py with the worker's keys from .env, allows
    exactly the UI's origin, is published on loopback only, and .env.example points the UI at it."""
    from payload_codec import server as codec_server

    service = _service(compose, "codec-server")
    env = _env(compose, "codec-server")
    assert service["profiles"] == ["codec"] and service["command"] == [
        "python",
        "-m",
        "payload_codec.server",
    ]
    worker = _env(compose, "worker")
    # The worker's keys when encryption is on: the same mounted file.
    assert env["PAYLOAD_CODEC_KEYS_FILE"] == "/run/secrets/payload_codec_keys"
    assert "payload_codec_keys" in service["secrets"]
    assert env["PAYLOAD_CODEC_ACTIVE_KEY"] == worker["PAYLOAD_CODEC_ACTIVE_KEY"]
    read = set(
        re.findall(r'"([A-Z][A-Z0-9_]+)"', (ROOT / "payload_codec" / "server.py").read_text())
    )
    unknown = set(env) - read - {"PAYLOAD_CODEC_KEYS_FILE", "PAYLOAD_CODEC_ACTIVE_KEY"}
    assert not unknown, f"codec-server sets variables codec_server.py never reads: {unknown}"
    settings = codec_server.CodecServerSettings.from_env(env)
    ui = _env(compose, "temporal-ui")
    ui_host_port = _service(compose, "temporal-ui")["ports"][0].split(":")[-2]
    assert settings.cors_origins == (ui["TEMPORAL_CORS_ORIGINS"],)
    assert ui["TEMPORAL_CORS_ORIGINS"] == f"http://localhost:{ui_host_port}"
    assert settings.host == "0.0.0.0"  # inside the container; the host sees loopback only
    assert service["ports"] == [f"127.0.0.1:8081:{settings.port}"]
    assert f":{settings.port}/decode" in " ".join(service["healthcheck"]["test"])
    assert "CODEC_SERVER_TOKEN" not in env  # the UI cannot send a static token
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "${TEMPORAL_CODEC_ENDPOINT:-}"
    assert "# TEMPORAL_CODEC_ENDPOINT=http://localhost:8081" in (ROOT / ".env.example").read_text()


def test_customer_page_is_on_loopback_with_the_workers_secret(compose: dict[str, Any]) -> None:
    """The page runs `python -m customer_page`, is published on 127.0.0.1 only, and signs with
    the same secret and base URL the worker puts into notifications."""
    from customer_page.settings import PageSettings

    service = _service(compose, "customer-page")
    env = _env(compose, "customer-page")
    assert service["command"] == ["python", "-m", "customer_page"]
    assert service["ports"] == [
        f"127.0.0.1:{env['CUSTOMER_PAGE_PORT']}:{env['CUSTOMER_PAGE_PORT']}"
    ]
    worker = _env(compose, "worker")
    assert env["CUSTOMER_PAGE_URL"] == worker["CUSTOMER_PAGE_URL"] == "${CUSTOMER_PAGE_URL:-}"
    # The same secret file the worker signs links with, once .env points it there.
    assert env["CUSTOMER_PAGE_SECRET_FILE"] == "/run/secrets/customer_page_secret"
    assert (
        "customer_page_secret" in service["secrets"]
        and "customer_page_secret" in (_service(compose, "worker")["secrets"])
    )
    page_env = {k: v for k, v in env.items() if k != "CUSTOMER_PAGE_SECRET_FILE"}
    settings = PageSettings.from_env(
        {
            **page_env,
            "CUSTOMER_PAGE_URL": "https://setup.example.com",
            "CUSTOMER_PAGE_SECRET": "x" * 48,
        }
    )
    assert settings.host == "0.0.0.0"  # inside the container; the host sees loopback only
    assert f":{settings.port}/healthz" in " ".join(service["healthcheck"]["test"])
    assert "customer-page-state" in compose["volumes"]
