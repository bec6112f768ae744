"""Real IRC clients from Debian (sic, weechat-headless) in the same room as a plain user.

`.ci/run` installs them with apt; without them (outside CI) the tests are skipped, in CI they
fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

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


WEECHAT = shutil.which("weechat-headless")


async def test_weechat_logs_in_with_sasl_and_chats(
    start_server: StartServer, tmp_path: Path
) -> None:
    if WEECHAT is None:
        if os.environ.get("CI"):
            pytest.fail("weechat-headless is not installed: .ci/run installs it")
        pytest.skip("weechat-headless is not installed (apt-get install weechat-headless)")
    server = await start_server(irc=True)
    owner = await server.join("weeuser")
    await owner.send("/register a weechat password")
    await owner.expect("* weeuser is registered: it is yours, with this password")
    await owner.send("/quit")
    await owner.expect_closed()
    plain = await server.join("plainuser")

    home = tmp_path / "weechat"
    commands = ";".join(
        [
            f"/server add t 127.0.0.1/{server.irc_port} -notls -nicks=weeuser -autojoin=#lobby",
            "/set irc.server.t.sasl_mechanism plain",
            "/set irc.server.t.sasl_username weeuser",
            '/set irc.server.t.sasl_password "a weechat password"',
            "/set irc.server.t.sasl_fail disconnect",  # a failed login must not register
            "/connect t",
            "/wait 3 /msg -server t #lobby hello from weechat",
        ]
    )
    weechat = await trio.lowlevel.open_process(
        [WEECHAT, "--dir", str(home), "--run-command", commands],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Only a member logged in to weeuser may hold the name: its arrival says SASL worked.
        await plain.expect("* weeuser joined")
        await plain.expect("<weeuser> hello from weechat")
        metrics = server.config.metrics.exposition()[0].decode()
        assert 'trio_chat_logins_total{mechanism="sasl-plain",outcome="right"} 1.0' in metrics
    finally:
        weechat.kill()
        # Shielded, so that a failing (cancelled) test still reaps its child; bounded.
        with trio.move_on_after(PATIENCE, shield=True):
            await weechat.wait()
