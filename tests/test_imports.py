"""A server imports what its configuration needs, and nothing else: its idle memory is imports.

Each check starts a fresh interpreter (the test run itself has imported everything), serves
there on ports chosen by the system, and reports what that process imported once it was
listening.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

# Serve with the given options until listening, then print every module imported so far.
SERVE_AND_LIST = textwrap.dedent(
    """
    import sys
    import trio
    from trio_chat import cli

    options = ["--db", ":memory:", "--port", "0", "--irc-port", "0", "--http-port", "0"]
    config = cli.server_config(cli.arguments(["server", *options, *sys.argv[1:]]))

    async def main():
        async with trio.open_nursery() as nursery:
            await nursery.start(cli.run_server, config)
            print(" ".join(sorted(sys.modules)))
            nursery.cancel_scope.cancel(reason="seen what it imported")

    trio.run(main)
    """
)


def without_coverage() -> dict[str, str]:
    """Return this process's environment without coverage's hook for child processes.

    Coverage in a child imports ``tomllib`` (its configuration is TOML) and allocates for every
    line it traces, so what the child imported or holds would be partly coverage's.
    """
    return {name: value for name, value in os.environ.items() if "COVERAGE_PROCESS" not in name}


def imported_by_a_server(*options: str) -> set[str]:
    """Start a server with ``options`` in a new interpreter; return the modules it imported."""
    command = [sys.executable, "-c", SERVE_AND_LIST, *options]
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=60, env=without_coverage()
    )
    return set(done.stdout.split())


@pytest.fixture(scope="module")
def imported() -> set[str]:
    return imported_by_a_server()


def test_the_server_is_really_started(imported: set[str]) -> None:
    # Guards the checks below: a server that never got to listen would import little.
    assert {"trio_chat.shell.server", "trio_chat.frontends.irc", "trio_chat.core.hub"} <= imported


@pytest.mark.parametrize(
    ("module", "needed_by"),
    [
        ("coredis", "--backplane only (about 29 MB)"),
        ("trio_chat.shell.backplane", "--backplane only"),
        ("prompt_toolkit", "trio-chat client only"),
        ("trio_chat.client.session", "trio-chat client only"),
        ("scramp", "the first account registered or SCRAM login (2.6 MB, asn1crypto included)"),
        ("argon2", "the first account registered, password login or OPER (0.4 MB, with cffi)"),
        # confusable-homoglyphs' own module keeps its whole table (6 MB) for good.
        ("confusable_homoglyphs.confusables", "nothing: lookalikes reads the table itself"),
        # Its utils imports urllib.request, with http.client and email (about 1 MB).
        ("confusable_homoglyphs.utils", "nothing: lookalikes reads the scripts' table itself"),
        # It parses confusables.json (a 5 MB peak): lookalikes reads the table it made.
        ("trio_chat.core.lookalike_table", "nothing: it makes lookalikes.txt, before a release"),
        ("importlib.metadata", "nothing: __version__ is written out (0.4 to 1.6 MB)"),
        # Any of it imports all of it: its HTTP servers, urllib.request, gzip (1.4 MB).
        ("prometheus_client", "nothing: the metrics module writes the text format itself"),
        ("urllib.request", "nothing (prometheus-client and confusable-homoglyphs imported it)"),
        ("http.server", "nothing (prometheus-client imported it)"),
        ("email", "nothing: the web front end writes its Date header itself (0.5 MB)"),
        # It brings zipfile and its readers, for packages run from a zip (0.4 MB).
        ("importlib.resources", "nothing: the web front end reads its page beside its module"),
        ("zipfile", "nothing (importlib.resources imported it)"),
        ("tomllib", "--config only (0.3 MB with difflib)"),
        ("difflib", "the hint for a configuration file's unknown key only"),
    ],
)
def test_an_idle_server_leaves_out_what_it_does_not_need(
    imported: set[str], module: str, needed_by: str
) -> None:
    assert module not in imported, f"{module} is for {needed_by}"
