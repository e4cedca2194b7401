"""``cdata-oauth``: one statement from the shell, or a command.

    cdata-oauth "EXEC GetOAuthAccessToken GrantType='CLIENT'" -c "..." --format json
    cdata-oauth token --profile work          # a credential helper: prints a valid token
    cdata-oauth login | logout | status --profile work
    cdata-oauth demo

Each command loads when named (through the lazy seam), so that ``cdata-oauth token``
with a fresh stored token imports little more than the standard library. Errors are one
line on stderr and the exit status says what failed (see ``cli.options``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from cdata_oauth.cli.options import EXIT_INTERRUPTED, EXIT_USAGE, PROG, fail
from cdata_oauth.lazy import resolve
from cdata_oauth.names import did_you_mean

__all__ = ["COMMANDS", "main"]

COMMANDS = {
    "token": "cdata_oauth.cli.token:main",
    "login": "cdata_oauth.cli.account:login",
    "logout": "cdata_oauth.cli.account:logout",
    "status": "cdata_oauth.cli.account:status",
    "demo": "cdata_oauth.cli.demo:main",
}
"""Command name -> its ``main(argv) -> exit status``; anything else is a statement."""
STATEMENT = "cdata_oauth.cli.statement:main"


def _command(first: str) -> str:
    """The target of the command ``first`` names; STATEMENT when it is a statement."""
    target = COMMANDS.get(first)
    if target is not None:
        return target
    if first.isidentifier():  # one bare word: a mistyped command, never a statement
        hint = did_you_mean(first, COMMANDS)
        raise LookupError(
            f"error: unknown command {first!r}.{hint} Commands: {', '.join(COMMANDS)}; or "
            f"give a statement such as \"EXEC GetOAuthAccessToken\" (see {PROG} --help)")
    return STATEMENT


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            target = _command(arguments[0] if arguments else "")
        except LookupError as exc:
            return fail(str(exc.args[0]), EXIT_USAGE)
        run: Callable[[list[str]], int] = resolve(target)
        return run(arguments if target == STATEMENT else arguments[1:])
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
