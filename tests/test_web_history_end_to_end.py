"""The page's history and typing messages over a real server: the database beyond memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import StartServer
from tests.test_irc_end_to_end import connect
from tests.test_web_end_to_end import OpenWeb, joined, open_web
from trio_chat.core.limits import Limits
from trio_chat.shell.archive import HistoryConfig

__all__ = ["open_web"]  # the fixture, shared with the web's other end-to-end tests


def texts(message: dict[str, Any]) -> list[str]:
    return [entry["event"]["text"] for entry in message["entries"] if "text" in entry["event"]]


async def test_history_before_and_after_an_id_read_the_database_beyond_memory(
    start_server: StartServer, open_web: OpenWeb, tmp_path: Path
) -> None:
    # Memory keeps the last 5 entries of #lobby; the rest are on disk (or queued for it).
    server = await start_server(
        web=True,
        database=str(tmp_path / "db"),
        history=HistoryConfig(ring=5),
        limits=Limits(history_lines=5),  # (the ring keeps at least what newcomers are shown)
    )
    ana = await joined(open_web, server, "ana")
    ids = []
    for i in range(30):
        await ana.send({"type": "say", "room": "#lobby", "text": f"m{i}"})
        said = await ana.until("said")
        ids.append(said["id"])
    # Scrolled up from the oldest line shown: the 20 before it, oldest first, from disk.
    await ana.send({"type": "history", "room": "#lobby", "before": ids[25], "count": 20})
    older = await ana.until("history_read")
    assert older["room"] == "#lobby"
    assert texts(older) == [f"m{i}" for i in range(5, 25)]
    assert [entry["id"] for entry in older["entries"]] == ids[5:25]
    # After a reconnection: exactly what followed the last one shown, page by page.
    await ana.send({"type": "history", "room": "#lobby", "after": ids[2], "count": 20})
    assert texts(await ana.until("history_read")) == [f"m{i}" for i in range(3, 23)]
    await ana.send({"type": "history", "room": "#lobby", "after": ids[22], "count": 20})
    assert texts(await ana.until("history_read")) == [f"m{i}" for i in range(23, 30)]
    # Not a room of hers: refused, as CHATHISTORY is.
    await ana.send({"type": "history", "room": "#elsewhere", "before": ids[25]})
    refusal = await ana.until("refusal")
    assert refusal["reason"] == "history_not_yours"


async def test_typing_reaches_the_rooms_other_pages_and_irc_clients_with_message_tags(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    server = await start_server(web=True, irc=True)
    ana = await joined(open_web, server, "ana")
    bruno = await joined(open_web, server, "bruno")
    await ana.until("joined")  # bruno's
    irc = await connect(server)
    await irc.register("carol", caps="message-tags")
    await bruno.until("joined")  # carol's
    await ana.until("joined")
    await bruno.send({"type": "typing", "room": "#lobby", "state": "active"})
    signalled = await ana.until("signalled")
    assert (signalled["room"], signalled["nick"]) == ("#lobby", "bruno")
    assert signalled["tags"] == [["+typing", "active"]]
    (tagmsg,) = await irc.receive_until("TAGMSG")
    assert tagmsg.tags["+typing"] == "active"
    assert tagmsg.params == ("#lobby",)
    assert (await bruno.until("signalled"))["nick"] == "bruno"  # his own, as with echo-message
    # And an IRC client's +typing reaches the pages the same way.
    await irc.send("@+typing=done TAGMSG #lobby")
    for page in (ana, bruno):
        signalled = await page.until("signalled")
        assert (signalled["nick"], signalled["tags"]) == ("carol", [["+typing", "done"]])


async def test_typing_to_a_nickname_reaches_it_and_is_never_answered_with_an_error(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    server = await start_server(web=True)
    ana = await joined(open_web, server, "ana")
    bruno = await joined(open_web, server, "bruno")
    await ana.send({"type": "typing", "nick": "bruno", "state": "active"})
    private = await bruno.until("private_from")
    assert (private["sender"], private["signal"]) == ("ana", True)
    assert private["tags"] == [["+typing", "active"]]
    # To someone offline: nothing comes back (no "no such nick" for a keystroke).
    await ana.send({"type": "typing", "nick": "ghost", "state": "active"})
    await ana.send({"type": "say", "text": "next"})
    while (message := await ana.receive())["type"] != "said":
        assert message["type"] not in ("refusal", "error"), message
