"""A real IRC client from Debian (sic) in the same room as a plain-protocol user.

`.ci/run` installs sic with apt; without it (outside CI) the test is skipped, in CI it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import trio

from tests.chat_client import PATIENCE, RunningServer
from tests.conftest import StartServer

SIC = shutil.which("sic")


@pytest.fixture
async def server(start_server: StartServer) -> RunningServer:
    if SIC is None:
        if os.environ.get("CI"):
            pytest.fail("sic is not installed: .ci/run installs it (apt-get install sic)")
        pytest.skip("sic is not installed (apt-get install sic)")
    return await start_server(irc=True)


async def test_sic_registers_chats_with_a_plain_user_and_quits(server: RunningServer) -> None:
    assert SIC is not None
    plain = await server.join("plainuser")
    sic = await trio.lowlevel.open_process(
        [SIC, "-h", "127.0.0.1", "-p", str(server.irc_port), "-n", "sicuser"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert sic.stdin is not None
    assert sic.stdout is not None
    output = b""

    async def read_until(text: bytes) -> None:
        nonlocal output
        assert sic.stdout is not None
        with trio.fail_after(PATIENCE):
            while text not in output:
                chunk = await sic.stdout.receive_some()
                assert chunk, f"sic closed its output before {text!r}: {output.decode()}"
                output += chunk

    try:
        await read_until(b"MOTD File is missing")  # registered
        await sic.stdin.send_all(b":j #lobby\n")
        await plain.expect("* sicuser joined")
        await read_until(b"End of /NAMES list")
        await sic.stdin.send_all(b":m #lobby hello from sic\n")
        await plain.expect("<sicuser> hello from sic")
        await plain.send("hi sic, from plain")
        await plain.expect("<plainuser> hi sic, from plain")
        await read_until(b"<plainuser> hi sic, from plain")
        await sic.stdin.send_all(b":QUIT :done\n")  # ":" and any command is sent as it is
        await plain.expect("* sicuser left (quit: done)")
        with trio.fail_after(PATIENCE):
            await sic.wait()
    finally:
        sic.kill()
        # Shielded, so that a failing (cancelled) test still reaps its child; bounded.
        with trio.move_on_after(PATIENCE, shield=True):
            await sic.wait()
    assert b"001 (sicuser): Welcome to the TestNet IRC Network" in output
