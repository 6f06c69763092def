"""Output that is piped or captured keeps long URLs and resource ids on one line."""

from __future__ import annotations

import io

import pytest

from cli.app import console_for
from cli.status_view import render_result
from models import OnboardingResult, ResourceIds

UI_LINK = (
    "http://127.0.0.1:40123/namespaces/default/workflows/"
    "cmk-onboarding-11111111-2222-3333-4444-555555555555-contoso-des"
)
DES_ID = (
    "/subscriptions/99999999-8888-7777-6666-555555555555/resourceGroups/rg-cmk/providers/"
    "Microsoft.Compute/diskEncryptionSets/contoso-des"
)


@pytest.fixture(autouse=True)
def no_columns_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """As under a pipe or a CI log: no terminal and no COLUMNS, where rich assumes 80."""
    monkeypatch.delenv("COLUMNS", raising=False)


def test_a_long_url_line_is_not_broken() -> None:
    """A progress line with a UI link comes out whole, as the demo prints it."""
    buffer = io.StringIO()
    console_for(file=buffer).print(f"[bold]2/5[/] started; watch it live: {UI_LINK}")
    assert UI_LINK in buffer.getvalue()
    assert len(buffer.getvalue().splitlines()) == 1


def test_a_resource_id_in_a_table_is_not_folded() -> None:
    """The result table keeps each resource id on one line."""
    buffer = io.StringIO()
    result = OnboardingResult(
        workflow_id="wf",
        customer_tenant_id="11111111-2222-3333-4444-555555555555",
        feature_state="Registered",
        resources=ResourceIds(encryption_set_id=DES_ID),
        created=(DES_ID,),
        reused=(),
        attempts=1,
    )
    render_result(result, console_for(file=buffer))
    assert DES_ID in buffer.getvalue().split("created:")[0]
    assert f"created: {DES_ID};" in buffer.getvalue()


def test_a_failure_with_brackets_is_printed_verbatim() -> None:
    """Azure's or the setup page's words may hold `[/<version>]` or `[abc]`: shown, not parsed as
    rich markup (which raised MarkupError or silently dropped the bracketed text)."""
    from cli.demo import print_failure

    out = io.StringIO()
    detail = "the key URL needs its version: https://kv.vault.azure.net/keys/k[/<version>] [abc]"
    print_failure(console_for(file=out), "the setup page refused the key URL", detail)
    assert out.getvalue() == f"the setup page refused the key URL: {detail}\n"
