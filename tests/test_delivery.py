"""A delivery alone: rendered once per kind of viewer, its speakers, and its approximate size."""

from __future__ import annotations

from collections.abc import Sequence

from tests.names import roster
from trio_chat.core.delivery import Delivery, Renderer
from trio_chat.core.events import (
    Emoted,
    Entry,
    Event,
    Found,
    Joined,
    MemberInfo,
    PrivateFrom,
    Recalled,
    Roster,
    RosterEntry,
    Said,
    TopicChanged,
)
from trio_chat.core.roles import Role
from trio_chat.frontends.line import render

T0 = 1_800_000_000.0


class CountingRenderer:
    """A renderer that counts its calls, and says which kind of viewer it rendered for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Sequence[Event]]] = []

    def __call__(self, kind: str) -> Renderer:
        def renderer(events: Sequence[Event]) -> bytes:
            self.calls.append((kind, events))
            return f"{kind}: {len(events)} events".encode()

        return renderer


def test_a_shared_delivery_is_rendered_once_per_kind_of_viewer_however_many_ask() -> None:
    events: list[Event] = [Said("#lobby", "bob", "hi"), Joined("#lobby", "carol")]
    delivery = Delivery(events)
    renderers = CountingRenderer()
    # A hundred one-room viewers and a hundred in several rooms: two kinds, two renderings.
    one_room = [delivery.render("one room", renderers("one room")) for _ in range(100)]
    several = [delivery.render("several rooms", renderers("several rooms")) for _ in range(100)]
    assert renderers.calls == [("one room", events), ("several rooms", events)]
    assert one_room[0] == b"one room: 2 events"
    assert all(data is one_room[0] for data in one_room)  # the same bytes, not copies
    assert several[0] == b"several rooms: 2 events"
    assert all(data is several[0] for data in several)


def test_each_delivery_is_rendered_for_itself() -> None:
    # The bytes belong to one delivery: another, even of the same events, renders again.
    renderers = CountingRenderer()
    events = [Said("#lobby", "bob", "hi")]
    first, second = Delivery(events), Delivery(events)
    first.render("plain", renderers("plain"))
    second.render("plain", renderers("plain"))
    assert len(renderers.calls) == 2


def test_the_speakers_are_those_who_said_or_emoted_something() -> None:
    delivery = Delivery(
        [
            Said("#lobby", "alice", "hi"),
            Emoted("#rust", "bob", "waves"),
            Said("#rust", "alice", "again"),
            Joined("#lobby", "carol"),
            TopicChanged("#lobby", "dave", "news"),
            PrivateFrom("erin", "psst"),
        ]
    )
    assert delivery.speakers == {"alice", "bob"}
    assert Delivery([Joined("#lobby", "carol")]).speakers == frozenset()


def test_the_size_grows_with_the_text() -> None:
    short = Delivery([Said("#lobby", "bob", "hi")])
    long = Delivery([Said("#lobby", "bob", "hi" + "x" * 1000)])
    assert long.size - short.size == 1000
    both = Delivery([Said("#lobby", "bob", "hi"), Said("#lobby", "bob", "hi" + "x" * 1000)])
    assert both.size == short.size + long.size  # the events' sizes add up


def test_a_roster_is_counted_by_its_nicknames() -> None:
    small = Delivery([Roster("#lobby", roster("al"))])
    big = Delivery([Roster("#lobby", roster("al", "b" * 100, "c" * 200))])
    assert big.size - small.size == (100 + 2) + (200 + 2)  # each name and its separator
    # Roles do not change the count: the names are the bulk of what is shown.
    operator = Delivery([Roster("#lobby", (RosterEntry("al", (Role.OPERATOR,)),))])
    assert operator.size == small.size


def test_the_size_approximates_what_is_rendered() -> None:
    # The same for every front end, so only roughly any one's: within a few bytes per line.
    said = Said("#lobby", "bob", "x" * 5000)
    names = tuple(f"member{n:04d}" for n in range(1000))
    # A replay of history counts its lines' text, not a few bytes per entry: a client that
    # never reads could otherwise queue ten times the byte budget of CHATHISTORY answers.
    past = tuple(Entry(n, T0 + n, Said("#lobby", "bob", "y" * 400)) for n in range(100))
    for event in (said, Roster("#lobby", roster(*names)), Recalled("#lobby", past)):
        rendered = len(render(event).encode())
        assert abs(Delivery([event]).size - rendered) <= rendered / 10, (event, rendered)


def test_an_answer_about_members_is_counted_by_its_rows() -> None:
    # WHO over IRC: a row per member, each with its name and real name (IRC renders it only).
    rows = tuple(MemberInfo(f"member{n:03d}", "x" * 100, "", ()) for n in range(100))
    found = Delivery([Found("", tuple(row.nick for row in rows), rows)])
    assert found.size > 100 * (9 + 100)
