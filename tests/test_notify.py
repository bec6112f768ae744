"""systemd's readiness protocol: a datagram socket of the test's own plays systemd."""

from __future__ import annotations

import os
import pathlib
import socket

import pytest

from trio_chat.shell.notify import notify


def test_nothing_is_sent_unless_systemd_asked() -> None:
    assert notify("READY=1", environ={}) is False


def test_a_socket_that_is_not_there_is_a_warning_not_a_crash(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = str(tmp_path / "gone")
    assert notify("READY=1", environ={"NOTIFY_SOCKET": missing}) is False
    assert f"cannot tell systemd 'READY=1' at {missing}" in caplog.text


def test_an_abstract_socket_is_reached_by_its_name() -> None:
    name = f"trio-chat-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind("\0" + name)
        assert notify("READY=1", environ={"NOTIFY_SOCKET": "@" + name}) is True
        assert systemd.recv(100) == b"READY=1"
