"""``cdata-oauth logout`` with a revocation procedure in the catalog: the refresh token
and the access token are each revoked through it (by the inputs it declares), then the
entry is removed. No server: the procedure is an API Script of a ``Location`` folder whose
operation records its calls."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from cdata_oauth.cli import account
from cdata_oauth.oauth.operations import Invocation, register_operation, unregister_operation
from cdata_oauth.tokens.stores import FileTokenStore, Token

OPERATION = "testRecordRevocation"
SCRIPT = f"""<api:script xmlns:api="http://www.rssbus.com/ns/rsbscript/2">
  <api:info title="RevokeOAuthToken" desc="Revokes a token (test double).">
    <input name="Token" required="true" desc="The token to revoke."/>
    <input name="TokenTypeHint" desc="access_token or refresh_token."/>
    <output name="Revoked" desc="Always true."/>
  </api:info>
  <api:call op="{OPERATION}"><api:push/></api:call>
</api:script>
"""


@pytest.fixture
def revocations(tmp_path: Path) -> Iterator[list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []

    def record(invocation: Invocation) -> Mapping[str, Any]:
        calls.append((invocation.inputs["Token"], invocation.inputs["TokenTypeHint"]))
        return {"Revoked": True}

    register_operation(OPERATION, record)
    (tmp_path / "RevokeOAuthToken.rsb").write_text(SCRIPT, encoding="utf-8")
    try:
        yield calls
    finally:
        unregister_operation(OPERATION)


def test_logout_revokes_both_tokens_then_removes_the_entry(
        tmp_path: Path, revocations: list[tuple[str, str]],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    store.save(Token("at_revoke_me", "rt_revoke_me", None, 3600, 1))
    status = account.logout(["-p", "OAuthVersion=2.0", "-p", "OAuthClientId=app",
                             "-p", "OAuthRevocationURL=https://login.example/revoke",
                             "-p", f"Location={tmp_path}",
                             "-p", f"OAuthSettingsLocation={store.location}"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert revocations == [("rt_revoke_me", "refresh_token"), ("at_revoke_me", "access_token")]
    assert store.load() is None and "removed" in out and err == ""
    assert "revoke_me" not in out + err


def test_logout_without_a_revocation_endpoint_says_so_and_still_removes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    store.save(Token("at_x", None, None, 3600, 1))
    status = account.logout(["-p", "OAuthVersion=2.0", "-p", "OAuthClientId=app",
                             "-p", f"OAuthSettingsLocation={store.location}"])
    _, err = capsys.readouterr()
    assert status == 0
    assert "no revocation endpoint is known" in err and "not revoked" in err
    assert store.load() is None
