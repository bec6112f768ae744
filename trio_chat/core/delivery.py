"""A delivery: the events one member receives in one turn of the hub, rendered once per viewer kind.

Members who saw exactly the same events in a turn share one :class:`Delivery`, so a broadcast
is rendered once per (front end, kind of viewer) however many members receive it: whoever
renders it first for a kind pays (the hub's task, on the mailbox's fast path; a writer task
otherwise), and every other viewer of that kind reuses the bytes.

A delivery is either *shared* or *personal*. Only a personal one (made for a single member)
carries events about its viewer's own state: its registration, its nickname changing, its
joining or leaving a room, its current room. So a front end that renders differently for
different viewers (the plain protocol prefixes room lines when you are in several rooms) can
render a shared delivery once per kind of viewer, and must walk a personal one event by event,
updating what it knows about its viewer as it goes.

A front end whose viewers of one kind still differ a little (on IRC, a member that spoke does
not see its own lines) renders a shared delivery *event by event*, once per kind
(:meth:`Delivery.render_each`): the kind's bytes are the pieces joined, and a viewer that must
miss a few events joins the other pieces, with no rendering of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from operator import attrgetter

from trio_chat.core.events import Emoted, Entry, Event, MemberInfo, RosterEntry, Said, Signalled

Renderer = Callable[[Sequence[Event]], bytes]
# Renders each event apart (b"" for one not shown), in order, from the events and their time.
EachRenderer = Callable[[Sequence[Event], float], list[bytes]]

_NICK = attrgetter("nick")
_EVENT_OVERHEAD = 16  # rough bytes per event beyond its text: markers, punctuation, newline
_ITEM_SIZE = 32  # rough bytes per entry of a list that is not of strings (the room list)


class Delivery:
    """The events one member (``personal``) or several (shared) receive in one hub turn."""

    __slots__ = ("_pieces", "_rendered", "_size", "_speakers", "events", "personal", "time")

    def __init__(
        self, events: Sequence[Event], *, personal: bool = False, time: float = 0.0
    ) -> None:
        self.events = events
        self.personal = personal
        self.time = time  # when the hub made it (Unix time): the events' server time
        self._size = -1
        self._speakers: frozenset[str] | None = None
        self._rendered: dict[Hashable, bytes] = {}
        self._pieces: dict[Hashable, list[bytes]] | None = None  # made by render_each only

    @property
    def size(self) -> int:
        """Approximate output size in bytes, the same for every front end."""
        if self._size < 0:
            self._size = sum(map(_approximate_size, self.events))
        return self._size

    @property
    def speakers(self) -> frozenset[str]:
        """Who said something in these events (an IRC viewer may not see its own lines)."""
        if self._speakers is None:
            self._speakers = frozenset(
                event.nick for event in self.events if isinstance(event, Said | Emoted | Signalled)
            )
        return self._speakers

    def render(self, kind: Hashable, renderer: Renderer) -> bytes:
        """Render the events with ``renderer``, once per ``kind`` of viewer, however many share it.

        ``kind`` names the front end and whatever about the viewer changes the rendering; every
        viewer passing the same ``kind`` must pass an equivalent ``renderer``.
        """
        data = self._rendered.get(kind)
        if data is None:
            data = self._rendered[kind] = renderer(self.events)
        return data

    def render_each(
        self,
        kind: Hashable,
        renderer: EachRenderer,
        *,
        leaving_out: Callable[[Event], bool] | None = None,
    ) -> bytes:
        """Render the events one by one with ``renderer``, once per ``kind`` of viewer.

        Returns the pieces joined (the same bytes for every viewer of the kind), or, with
        ``leaving_out``, the pieces of the events it does not pick, joined for this viewer
        without rendering anything again. ``kind`` and ``renderer`` are as for :meth:`render`;
        a kind is rendered either whole or event by event, never both.
        """
        data = self._rendered.get(kind)
        if data is not None and leaving_out is None:
            return data
        if self._pieces is None:
            self._pieces = {}
        pieces = self._pieces.get(kind)
        if pieces is None:
            pieces = self._pieces[kind] = renderer(self.events, self.time)
            self._rendered[kind] = b"".join(pieces)
        if leaving_out is None:
            return self._rendered[kind]
        return b"".join(
            [
                piece
                for piece, event in zip(pieces, self.events, strict=True)
                if not leaving_out(event)
            ]
        )


def _approximate_size(event: Event | MemberInfo) -> int:
    """Roughly the bytes ``event`` (or a row of one) takes to show: its text, and a little more."""
    size = _EVENT_OVERHEAD
    for name in event.__slots__:
        value = getattr(event, name)
        if isinstance(value, str):
            size += len(value)
        elif isinstance(value, tuple) and value and isinstance(value[0], str):
            size += sum(map(len, value)) + 2 * len(value)  # names: no Python loop per name
        elif isinstance(value, tuple) and value and isinstance(value[0], RosterEntry):
            size += sum(map(len, map(_NICK, value))) + 2 * len(value)  # a roster, in C loops
        elif isinstance(value, tuple) and value and isinstance(value[0], tuple):
            size += sum(len(key) + len(tag) + 2 for key, tag in value)  # client-only tags
        elif isinstance(value, tuple) and value and isinstance(value[0], Entry):
            size += sum(_approximate_size(entry.event) for entry in value)  # history replayed
        elif isinstance(value, tuple) and value and isinstance(value[0], MemberInfo):
            size += sum(map(_approximate_size, value))  # WHO's and WHOIS's answers, a row each
        elif isinstance(value, tuple):
            size += _ITEM_SIZE * len(value)
    return size
