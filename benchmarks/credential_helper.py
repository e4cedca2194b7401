"""Benchmark 7: ``cdata-oauth token`` as a credential helper, as whole processes.

A fresh token already sits in the default file store of a profile's app; each run is a
new process of the console script, ``cdata-oauth token --profile bench``, which must read
the profile and the store and print the token without importing sqlglot, requests or
oauthlib. Target: <= 1.5x ``python -c pass`` of the same interpreter. Shown beside it:
``python -c "import requests"`` and the statement runner on the same profile
(``EXEC GetOAuthAuthorizationURL``, no network), which loads the whole connector.

The children run with bytecode caches, as an installed package does (pip compiles them
at install time): ``PYTHONDONTWRITEBYTECODE`` is dropped from their environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from cdata_oauth.config.properties import ConnectionProperties
from cdata_oauth.tokens.lifecycle import store_of
from cdata_oauth.tokens.stores import Token

from .harness import Options, Row, interleave, ratio_rows

NAME = "credential_helper"
BENCH = "7 credential helper"
CASE = "fresh token in a file store"
OURS = "cdata-oauth token --profile bench"
FLOOR = "python -c 'pass'"
REQUESTS = "python -c 'import requests'"
RUNNER = "cdata-oauth \"EXEC GetOAuthAuthorizationURL\" --profile bench"

PROFILE = {
    "OAuthVersion": "2.0",
    "OAuthClientId": "bench-client",
    "OAuthClientSecret": "bench-secret",
    "OAuthAuthorizationURL": "https://provider.example/authorize",
    "OAuthAccessTokenURL": "http://127.0.0.1:9/token",
    "CallbackURL": "http://127.0.0.1:33333/callback",
    "GrantType": "CLIENT",
    "Scope": "read",
}


def console_script() -> list[str]:
    """The installed ``cdata-oauth`` script run by this interpreter, else its equivalent."""
    script = Path(sys.executable).with_name("cdata-oauth")
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-c",
            "import sys; from cdata_oauth.cli.main import main; sys.exit(main())"]


def prepare(folder: Path) -> dict[str, str]:
    """A private profiles file and a fresh token in the profile's default store; the
    environment that makes the children use them."""
    profiles = folder / "profiles.toml"
    lines = ["[bench]"] + [f'{name} = "{value}"' for name, value in PROFILE.items()]
    profiles.write_text("\n".join(lines) + "\n", encoding="utf-8")
    profiles.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"CDATA_OAUTH_PROFILES": str(profiles), "XDG_CONFIG_HOME": str(folder)})
    saved = {k: os.environ.get(k) for k in ("XDG_CONFIG_HOME",)}
    os.environ["XDG_CONFIG_HOME"] = str(folder)  # where the children find the default store
    try:
        properties = ConnectionProperties({**PROFILE, "InitiateOAuth": "GETANDREFRESH"})
        store_of(properties).save(Token("at_bench_fresh_token", None, None, 86400,
                                        int(time.time() * 1000), "read", "Bearer"))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return env


def _process(command: list[str], env: Mapping[str, str]) -> Callable[[int], None]:
    def run(_: int) -> None:
        subprocess.run(command, check=True, env=dict(env), stdout=subprocess.DEVNULL)

    return run


def run(opts: Options) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="cdata-oauth-bench-") as folder:
        env = prepare(Path(folder))
        script = console_script()
        token = subprocess.run([*script, "token", "--profile", "bench"], env=env,
                               capture_output=True, text=True, check=True)
        assert token.stdout == "at_bench_fresh_token\n", token
        measured = interleave({
            OURS: _process([*script, "token", "--profile", "bench"], env),
            FLOOR: _process([sys.executable, "-c", "pass"], env),
            REQUESTS: _process([sys.executable, "-c", "import requests"], env),
            RUNNER: _process([*script, "EXEC GetOAuthAuthorizationURL", "--profile", "bench",
                              "-f", "csv"], env),
        }, rounds=opts.n(40, 3), warmup=2)
    return ratio_rows(BENCH, CASE, measured, FLOOR,
                      {OURS: ("<= 1.5x python -c pass", 1.5, FLOOR)},
                      {OURS: "imports no sqlglot, requests or oauthlib"})
