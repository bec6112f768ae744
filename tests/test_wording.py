"""The English several front ends share: a line of a room's past, the service's news, a time."""

from __future__ import annotations

import time

import pytest

from tests.conftest import T0
from trio_chat.core.events import (
    HISTORIC,
    Departed,
    Emoted,
    Historic,
    Joined,
    Kicked,
    LeaveReason,
    ModesChanged,
    Parted,
    PrivateFrom,
    Renamed,
    Said,
    Service,
    Signalled,
    TopicChanged,
)
from trio_chat.core.modes import Mode, ModeChange
from trio_chat.core.wording import describe, parenthesized, service_news, stamp

# One row per shape of line: every kind of event a room's history keeps, each way it is said.
VOICE_BOB = ModeChange(Mode.VOICE, True, "bob")
DESCRIBED: list[tuple[Historic, str]] = [
    (Said("#rust", "alice", "hello"), "<alice> hello"),
    (Said("#rust", "alice", "read this", notice=True, user="al"), "<alice> read this"),
    (Emoted("#rust", "alice", "waves"), "* alice waves"),
    (Joined("#rust", "bob", away="lunch"), "* bob joined"),
    (TopicChanged("#rust", "bob", "2.0 is out"), "* bob set the topic: 2.0 is out"),
    (TopicChanged("#rust", "bob", ""), "* bob cleared the topic"),
    (Parted("#rust", "bob"), "* bob left #rust"),
    (Parted("#rust", "bob", "later"), "* bob left #rust (later)"),
    (Departed("bob", LeaveReason.QUIT), "* bob left (quit)"),
    (Departed("bob", LeaveReason.TOO_SLOW), "* bob left (too slow)"),
    (Departed("bob", LeaveReason.QUIT, "see you"), "* bob left (quit: see you)"),
    (Departed("bob", LeaveReason.PING_TIMEOUT, "x"), "* bob left (ping timeout: x)"),
    (Renamed("alice", "al"), "* alice is now al"),
    (
        ModesChanged("#rust", "alice", (ModeChange(Mode.MODERATED, True), VOICE_BOB)),
        "* alice set +mv bob",
    ),
    (Kicked("#rust", "alice", "bob", "spam"), "* alice kicked bob out of #rust (spam)"),
    (Kicked("#rust", "alice", "bob"), "* alice kicked bob out of #rust"),
    (
        Signalled("#rust", "bob", (("+draft/react", "👍"), ("+draft/reply", "7"))),
        "* bob reacted 👍",
    ),
    (Signalled("#rust", "bob", (("+draft/persist", ""),)), "* bob sent a signal"),
    (PrivateFrom("bob", "psst", recipient="alice"), "<bob to alice> psst"),
    (PrivateFrom("bob", "waves", action=True, recipient="alice"), "* bob waves"),
]


@pytest.mark.parametrize(("event", "line"), DESCRIBED)
def test_describe(event: Historic, line: str) -> None:
    assert describe(event) == line


def test_every_kind_of_historic_event_is_described() -> None:
    assert {type(event) for event, _ in DESCRIBED} == set(HISTORIC)


@pytest.mark.parametrize(
    ("status", "news"),
    [
        (Service.UNAVAILABLE, "chat is unavailable, retrying"),
        (Service.AVAILABLE, "chat is available again"),
        (Service.MISSED, "some messages were missed"),
    ],
)
def test_service_news(status: Service, news: str) -> None:
    assert service_news(status) == news


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (T0, "2026-11-30 00:53"),  # 00:53:20
        (T0 + 39.9, "2026-11-30 00:53"),  # the minute is cut, never rounded
        (T0 + 40, "2026-11-30 00:54"),
        (0.0, "1970-01-01 00:00"),
    ],
)
def test_stamp(moment: float, shown: str) -> None:
    assert stamp(moment) == shown


def test_a_stamp_is_in_utc_whatever_the_local_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "LINT-14")  # POSIX for UTC+14: no time zone database needed
    time.tzset()
    try:
        assert time.localtime(T0).tm_hour == 14  # the zone took effect...
        assert stamp(T0) == "2026-11-30 00:53"  # ...and the stamp ignores it
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(("message", "shown"), [("", ""), ("lunch", " (lunch)")])
def test_parenthesized(message: str, shown: str) -> None:
    assert parenthesized(message) == shown
