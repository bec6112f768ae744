"""The English wording that several front ends share. Pure.

No front end reads another's output. Where two of them say the same thing to a person in
English (a line of a room's past, the shared service's news, a time), the words are here, and
each front end places them in its own frame: the plain protocol as a line, IRC as a NOTICE.
(A refusal's wording is :func:`trio_chat.core.refusals.explain`.)
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from trio_chat.core.events import (
    Departed,
    Emoted,
    Historic,
    Joined,
    Kicked,
    ModesChanged,
    Parted,
    PrivateFrom,
    Renamed,
    Said,
    Service,
    Signalled,
    TopicChanged,
)
from trio_chat.core.modes import words

_SERVICE = {
    Service.UNAVAILABLE: "chat is unavailable, retrying",
    Service.AVAILABLE: "chat is available again",
    Service.MISSED: "some messages were missed",
}


def describe(event: Historic) -> str:
    """Return one line saying what happened: ``<alice> hi``, ``* bob left #rust (later)``.

    Chat messages are ``<nick> text``; everything else starts with ``*``, as notices do.
    """
    match event:
        case Said(_, nick, text):
            return f"<{nick}> {text}"
        case Emoted(_, nick, text):
            return f"* {nick} {text}"
        case Joined(_, nick):
            return f"* {nick} joined"
        case TopicChanged(_, nick, ""):
            return f"* {nick} cleared the topic"
        case TopicChanged(_, nick, topic):
            return f"* {nick} set the topic: {topic}"
        case Parted(room, nick, message):
            return f"* {nick} left {room}{parenthesized(message)}"
        case Departed(nick, reason, ""):
            return f"* {nick} left ({reason.value})"
        case Departed(nick, reason, message):
            return f"* {nick} left ({reason.value}: {message})"
        case Renamed(old, new):
            return f"* {old} is now {new}"
        case ModesChanged(_, nick, changes):
            return f"* {nick} set {' '.join(words(changes))}"
        case Kicked(room, nick, target, reason):
            return f"* {nick} kicked {target} out of {room}{parenthesized(reason)}"
        case Signalled(_, nick, tags):
            reaction = dict(tags).get("+draft/react")
            return f"* {nick} reacted {reaction}" if reaction else f"* {nick} sent a signal"
        case PrivateFrom(sender, text, action, recipient=recipient):
            return f"* {sender} {text}" if action else f"<{sender} to {recipient}> {text}"


def service_news(status: Service) -> str:
    """Say what changed in the service behind the rooms (processes sharing them)."""
    return _SERVICE[status]


def stamp(time: float) -> str:
    """Show a Unix ``time`` as a line of the past does: ``2026-12-01 10:00`` (UTC)."""
    return _minute(int(time // 60))


# A newcomer is shown up to fifty past lines, most from the same few minutes: formatting each
# time anew was 4% of a server's work while a thousand users arrived (benchmark arrive-1000).
@functools.lru_cache(maxsize=1024)
def _minute(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%d %H:%M")


def parenthesized(message: str) -> str:
    """Return `` (message)``, or nothing for no message."""
    return f" ({message})" if message else ""
