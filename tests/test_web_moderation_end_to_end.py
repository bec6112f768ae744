"""Running a room and the server over the page's JSON, through a running server.

What the page is sent is what it can show: an address reaches a page only once it is a server
operator's, whatever it asks.
"""

from __future__ import annotations

from tests.conftest import StartServer
from tests.test_web_end_to_end import OpenWeb, joined, open_web
from trio_chat.core.accounts import hash_password
from trio_chat.shell.credentials import AccountRules

__all__ = ["open_web"]  # the fixture, shared with the web's other end-to-end tests


async def test_an_address_reaches_a_page_only_once_it_is_a_server_operators(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    rules = AccountRules(failed_login_delay=0.01, oper_logins=(("root", hash_password("pw")),))
    server = await start_server(web=True, accounts=rules)
    ana = await joined(open_web, server, "ana")
    bruno = await joined(open_web, server, "bruno")
    await ana.until("joined")

    await bruno.send({"type": "whois", "nick": "ana"})
    (found,) = (await bruno.until("found"))["members"]
    assert found["host"].endswith(".ip")  # a cloak: what a ban names, never the address
    assert "address" not in found
    assert "127.0.0.1" not in str(found)

    await ana.send({"type": "oper", "name": "root", "password": "wrong"})
    assert (await ana.until("refusal"))["reason"] == "wrong_operator_login"
    await ana.send({"type": "oper", "name": "root", "password": "pw"})
    assert (await ana.until("operator_now"))["name"] == "root"
    await ana.send({"type": "whois", "nick": "bruno"})
    (found,) = (await ana.until("found"))["members"]
    assert found["address"] == "127.0.0.1"
    # bruno is still nobody's operator: ana's address stays hers.
    await bruno.send({"type": "whois", "nick": "ana"})
    (found,) = (await bruno.until("found"))["members"]
    assert found["operator"] is True
    assert "address" not in found


async def test_a_muted_page_is_told_why_its_line_is_refused(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    server = await start_server(web=True)
    ana = await joined(open_web, server, "ana")
    bruno = await joined(open_web, server, "bruno")
    await ana.send({"type": "join", "room": "#quiet"})
    entered = await ana.until("room_entered")
    assert entered["roles"] == {"ana": ["operator"]}
    await bruno.send({"type": "join", "room": "#quiet"})
    await bruno.until("room_entered")
    await ana.until("joined")

    await ana.send({"type": "mute", "room": "#quiet", "target": "bruno"})
    changed = await bruno.until("modes_changed")
    (change,) = changed["changes"]
    assert change["mode"] == "b"
    assert change["argument"].startswith("m:*!*@")
    await bruno.send({"type": "say", "room": "#quiet", "text": "hello?"})
    refusal = await bruno.until("refusal")
    assert (refusal["reason"], refusal["text"]) == ("muted", "you are muted in #quiet")
    # ana hears nothing of it: her next room event is what she says herself.
    await ana.send({"type": "say", "room": "#quiet", "text": "quiet now"})
    assert (await ana.until("said"))["text"] == "quiet now"
