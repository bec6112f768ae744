"""A real browser: Debian's chromium, driven by selenium, chatting with a terminal user.

`.ci/run` installs chromium and chromium-driver with apt (no browser is ever downloaded:
SE_OFFLINE keeps Selenium Manager from trying). Without them (outside CI) the test is skipped;
in CI it fails. Selenium blocks, so every call to it runs in a thread (trio.to_thread), while
the server runs in the test's own event loop. Its waits poll the page with a deadline.

Set TRIO_CHAT_SCREENSHOT=path to keep the screenshot (docs/screenshot.png is made that way).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio

from tests.chat_client import ChatClient
from tests.conftest import StartServer
from tests.test_reload import server
from trio_chat.core.limits import Limits
from trio_chat.shell.archive import HistoryConfig
from trio_chat.shell.credentials import AccountRules

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
WAIT = 20  # seconds any one thing may take to appear on a page

T = TypeVar("T")


async def in_thread(function: Callable[..., T], *args: Any) -> T:
    return await trio.to_thread.run_sync(partial(function, *args))


class Page:
    """One browser window on the chat page (every method blocks: call it in a thread)."""

    def __init__(self, url: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        options = Options()
        assert CHROMIUM is not None
        assert CHROMEDRIVER is not None
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--window-size=1100,720"):  # fmt: skip
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.get(url)

    def close(self) -> None:
        self.driver.quit()

    def log_in(self, nick: str) -> None:
        self.type_into("nick", nick, submit=True)
        self.wait_for_text("status", f"connected as {nick}")

    def log_in_refused(self, nick: str, why: str) -> None:
        self.type_into("nick", nick, submit=True)
        self.wait_for_text("login-error", why)

    def type_into(self, element: str, text: str, *, submit: bool = True) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        field = self.driver.find_element(By.ID, element)
        field.send_keys(text + (Keys.ENTER if submit else ""))

    def say(self, text: str) -> None:
        self.type_into("say", text)

    def text_of(self, element: str) -> str:
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(By.ID, element).text)

    def wait_for_text(self, element: str, text: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, WAIT).until(lambda _: text in self.text_of(element))

    def wait_for_message(self, text: str) -> None:
        self.wait_for_text("messages", text)

    def show(self, view: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, f'#views button[data-view="{view}"]').click()

    def elements_in_messages(self, tag: str) -> int:
        from selenium.webdriver.common.by import By

        return len(self.driver.find_elements(By.CSS_SELECTOR, f"#messages {tag}"))

    def click(self, selector: str) -> None:
        """Click the element ``selector`` names, once it is shown (waiting with a deadline)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        clickable = expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, selector))
        WebDriverWait(self.driver, WAIT).until(clickable).click()

    def count(self, selector: str) -> int:
        from selenium.webdriver.common.by import By

        return len(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def screenshot(self, path: Path) -> None:
        self.driver.save_screenshot(str(path))

    def texts(self) -> list[str]:
        """The texts of the lines shown, oldest first (without times or names)."""
        lines = "document.querySelectorAll('#messages li')"
        script = f"return [...{lines}].map(li => li.lastChild.textContent)"
        return list(self.driver.execute_script(script))

    def first_unread(self) -> str | None:
        """The text of the line marked as the first unread one, if any."""
        line = "document.querySelector('#messages li.first-unread')"
        script = f"const li = {line}; return li && li.lastChild.textContent"
        found = self.driver.execute_script(script)
        return None if found is None else str(found)

    def scroll_up_until(self, text: str) -> None:
        """Scroll to the top of the messages, again as older lines come, until ``text`` shows."""
        from selenium.webdriver.support.ui import WebDriverWait

        script = (
            "const list = document.getElementById('messages'); list.scrollTop = 0;"
            "return list.textContent.includes(arguments[0])"
        )
        WebDriverWait(self.driver, WAIT, poll_frequency=0.05).until(
            lambda driver: driver.execute_script(script, text)
        )

    def overflows(self) -> bool:
        """Whether the messages are more than their pane shows (so that they scroll)."""
        script = "const list = document.getElementById('messages');"
        script += "return list.scrollHeight > list.clientHeight"
        return bool(self.driver.execute_script(script))

    def wait_until(self, condition: Callable[[], bool]) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, WAIT, poll_frequency=0.05).until(lambda _: condition())


@pytest.fixture
async def open_page() -> AsyncIterator[Callable[[str], Any]]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs chromium, chromium-driver")
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium-driver)")
    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager download anything
    pages: list[Page] = []

    async def open_page(url: str) -> Page:
        page = await in_thread(Page, url)
        pages.append(page)
        return page

    yield open_page
    for page in pages:
        await in_thread(page.close)


async def test_two_browsers_and_a_terminal_user_chat_then_survive_a_restart(
    start_server: StartServer, open_page: Callable[[str], Any], tmp_path: Path
) -> None:
    saved = {"database": str(tmp_path / "history.sqlite3"), "history": HistoryConfig()}
    server = await start_server(web=True, **saved)
    url = f"http://127.0.0.1:{server.web_port}/"
    nc = await server.join("nc")
    ana: Page = await open_page(url)
    bruno: Page = await open_page(url)

    await in_thread(ana.log_in, "ana")
    await nc.expect("* ana joined")
    await in_thread(ana.say, "said before bruno came")
    await nc.expect("<ana> said before bruno came")
    await in_thread(bruno.log_in, "bruno")
    await nc.expect("* bruno joined")
    await in_thread(bruno.wait_for_message, "said before bruno came")  # the room's history
    await in_thread(ana.wait_for_text, "members", "bruno")  # the member list follows joins

    await in_thread(bruno.say, "hello from bruno")
    await nc.expect("<bruno> hello from bruno")
    await in_thread(ana.wait_for_message, "hello from bruno")
    await nc.send("hi browsers, from the terminal")
    await nc.expect("<nc> hi browsers, from the terminal")
    for page in (ana, bruno):
        await in_thread(page.wait_for_message, "hi browsers, from the terminal")

    # A peer's HTML is shown as text: no element is made of it, no script runs.
    await nc.send('<b>bold?</b><img src=x onerror="document.title=1">')
    await nc.receive_line()
    await in_thread(ana.wait_for_message, "<b>bold?</b>")
    assert await in_thread(ana.elements_in_messages, "b") == 0
    assert await in_thread(ana.elements_in_messages, "img") == 0

    await in_thread(ana.say, "/me waves")
    await nc.expect("* ana waves")
    await in_thread(ana.say, "/msg bruno psst, bruno")
    await in_thread(bruno.wait_for_text, "views", "@ ana")  # a conversation, with its unread
    await in_thread(bruno.show, "ana")
    await in_thread(bruno.wait_for_message, "psst, bruno")

    # A second room: ana joins it from the sidebar; nc is there too.
    await nc.send("/join #second")
    await nc.expect("* welcome to #second! online (1): @nc")
    await in_thread(ana.type_into, "join-room", "#second")
    await nc.expect("#second * ana joined")
    await in_thread(ana.wait_for_text, "room-title", "#second")
    await in_thread(ana.say, "now in two rooms")
    await nc.expect("#second <ana> now in two rooms")
    await nc.send("/switch #lobby")
    await nc.expect("* now talking in #lobby")
    await nc.send("back in the lobby")
    await nc.expect("#lobby <nc> back in the lobby")
    await in_thread(ana.wait_for_text, "views", "#lobby\n1")  # an unread count in the sidebar
    await in_thread(ana.show, "#lobby")
    await in_thread(ana.wait_for_message, "back in the lobby")

    shot = Path(os.environ.get("TRIO_CHAT_SCREENSHOT") or tmp_path / "page.png")
    await in_thread(ana.screenshot, shot)
    assert (await trio.Path(shot).stat()).st_size > 10_000

    # The server restarts on the same port: both pages reconnect, with their rooms.
    port = server.web_port
    server.stop.set()
    await server.finished.wait()
    await in_thread(ana.wait_for_text, "status", "reconnecting")
    restarted = await start_server(web=True, web_port=port, **saved)
    for page, nick in ((ana, "ana"), (bruno, "bruno")):
        await in_thread(page.wait_for_text, "status", f"connected as {nick}")
    # The history the new server sends the reconnected pages holds nothing they showed already.
    assert (await in_thread(ana.text_of, "messages")).count("back in the lobby") == 1
    watcher = await restarted.join("watcher")
    await watcher.send("/who #second")
    answer = await watcher.receive_line()
    while answer.startswith("~ "):  # #lobby's history comes first
        answer = await watcher.receive_line()
    assert answer == "#second * online (1): @ana"
    await in_thread(bruno.say, "still here after the restart")
    await watcher.expect("<bruno> still here after the restart")


async def test_a_browser_registers_stays_logged_in_across_a_reload_and_logs_out(
    start_server: StartServer, open_page: Callable[[str], Any]
) -> None:
    from selenium.webdriver.common.by import By

    server = await start_server(web=True, accounts=AccountRules(failed_login_delay=0.05))
    url = f"http://127.0.0.1:{server.web_port}/"
    page: Page = await open_page(url)

    # Register from the page: the name, then "Register this name" asks for a password.
    await in_thread(lambda: page.type_into("nick", "ana", submit=False))
    await in_thread(lambda: page.driver.find_element(By.ID, "register").click())
    await in_thread(page.wait_for_text, "login-error", "choose a password for ana")
    await in_thread(lambda: page.type_into("password", "a long passphrase", submit=False))
    await in_thread(lambda: page.driver.find_element(By.ID, "register").click())
    await in_thread(page.wait_for_text, "status", "connected as ana")
    cookies = await in_thread(page.driver.get_cookies)
    (ticket,) = [cookie for cookie in cookies if cookie["name"] == "trio_chat_ticket"]
    assert ticket["httpOnly"]
    assert ticket["sameSite"] == "Strict"
    assert "passphrase" not in await in_thread(lambda: page.driver.page_source)

    # A reload: the page has forgotten everything, but its cookie logs it in again.
    await in_thread(page.driver.refresh)
    await in_thread(page.wait_for_text, "status", "connected as ana")
    nc = await server.join("nc")
    await nc.send("/who")
    await nc.expect("* online (2): ana, nc")

    # Log out: the ticket is forgotten, and the name asks for its password from now on.
    await in_thread(lambda: page.driver.find_element(By.ID, "logout").click())
    await in_thread(page.wait_for_text, "status", "disconnected")
    await in_thread(page.driver.refresh)
    await in_thread(page.log_in_refused, "ana", "ana is registered: log in to use it")
    await in_thread(page.type_into, "password", "a long passphrase")
    await in_thread(page.wait_for_text, "status", "connected as ana")


async def test_the_page_opens_where_a_server_without_port_options_says(
    open_page: Callable[[str], Any], tmp_path: Path
) -> None:
    # `trio-chat server --config FILE`, no port on its command line: the file gives free ports
    # (the defaults themselves are test_cli's), and the log's last start line says where to go.
    path = tmp_path / "trio-chat.toml"
    path.write_text('db = ":memory:"\nport = 0\n[irc]\nirc_port = 0\n[web]\nhttp_port = 0\n')
    async with server(path) as running:
        line = await running.wait_for("in a browser")
        url = line.split("open ", 1)[1].removesuffix(" in a browser")
        assert url == f"http://127.0.0.1:{running.ports['web']}/"
        page: Page = await open_page(url)
        await in_thread(page.log_in, "ana")
        plain = ChatClient(await trio.open_tcp_stream("127.0.0.1", running.ports["plain"]))
        await plain.expect("* what is your name?")
        await plain.send("nc")
        await plain.expect("* welcome, nc! online (2): ana, nc")
        await plain.stream.aclose()


async def test_an_operator_mutes_someone_from_the_page_and_the_muted_user_sees_why(
    start_server: StartServer, open_page: Callable[[str], Any], tmp_path: Path
) -> None:
    server = await start_server(web=True)
    url = f"http://127.0.0.1:{server.web_port}/"
    ana: Page = await open_page(url)
    bruno: Page = await open_page(url)
    await in_thread(ana.log_in, "ana")
    await in_thread(bruno.log_in, "bruno")
    # ana makes #quiet, so she runs it; a terminal user watches what reaches the room.
    await in_thread(ana.type_into, "join-room", "#quiet")
    await in_thread(ana.wait_for_text, "members", "@ana")  # her badge: "@", then her name
    nc = await server.join("nc")
    await nc.send("/join #quiet")
    await nc.expect("* welcome to #quiet! online (2): @ana, nc")
    await nc.send("/part #lobby")
    await nc.expect("* you left #lobby")
    await in_thread(bruno.type_into, "join-room", "#quiet")
    await nc.expect("* bruno joined")
    assert await in_thread(bruno.count, "#members button.member") == 0  # no actions: not his room

    # ana picks bruno in the member list, and mutes him.
    await in_thread(ana.click, '#members button[data-nick="bruno"]')
    await in_thread(ana.wait_for_text, "member-actions-title", "bruno")
    await in_thread(ana.click, '#member-actions button[data-action="mute"]')
    muted = await nc.receive_line()
    assert muted.startswith("* ana set +b m:*!*@"), muted
    await in_thread(ana.wait_for_message, "ana muted *!*@")

    # bruno speaks: refused, and told why where he typed; nobody hears him.
    await in_thread(bruno.say, "can anyone hear me?")
    await in_thread(bruno.wait_for_text, "say-error", "you are muted in #quiet")
    await in_thread(bruno.wait_for_message, "you are muted in #quiet")
    await in_thread(ana.say, "only ana speaks")
    await nc.expect("<ana> only ana speaks")  # not bruno's line: it was refused before this

    # Unmuted, then a moderated room (a box in the room's settings): voice lets him speak.
    await in_thread(ana.click, '#member-actions button[data-action="unmute"]')
    await nc.expect(muted.replace("+b", "-b"))
    await in_thread(ana.click, "#room-settings summary")
    await in_thread(ana.click, '#room-flags input[data-mode="m"]')
    await nc.expect("* ana set +m")
    await in_thread(bruno.say, "and now?")
    await in_thread(
        bruno.wait_for_text, "say-error", "#quiet is moderated: only members with voice speak"
    )
    await in_thread(ana.click, '#member-actions button[data-action="voice"]')
    await nc.expect("* ana set +v bruno")
    await in_thread(bruno.wait_for_text, "members", "+bruno")
    await in_thread(bruno.say, "thanks")
    await nc.expect("<bruno> thanks")
    await in_thread(bruno.wait_for_message, "thanks")
    assert await in_thread(bruno.text_of, "say-error") == ""  # heard: the refusal is gone

    # A mode the server does not know is refused in place, in the settings.
    await in_thread(ana.type_into, "modes-input", "+x")
    await in_thread(ana.wait_for_text, "settings-error", "there is no mode x")
    shot = Path(os.environ.get("TRIO_CHAT_MODERATION_SCREENSHOT") or tmp_path / "operator.png")
    await in_thread(ana.screenshot, shot)


def said(texts: list[str], *prefixes: str) -> list[str]:
    return [text for text in texts if text.startswith(prefixes)]


async def test_scrolling_up_loads_older_lines_from_the_database_beyond_memory(
    start_server: StartServer, open_page: Callable[[str], Any], tmp_path: Path
) -> None:
    # Memory keeps the last 5 entries of #lobby, what a newcomer is shown; the rest are on disk.
    server = await start_server(
        web=True,
        database=str(tmp_path / "history.sqlite3"),
        history=HistoryConfig(ring=5),
        limits=Limits(history_lines=5),
    )
    nc = await server.join("nc")
    for i in range(80):
        await nc.send(f"m{i:02}")
        await nc.expect(f"<nc> m{i:02}")
    page: Page = await open_page(f"http://127.0.0.1:{server.web_port}/")
    await in_thread(page.log_in, "ana")
    await in_thread(page.wait_for_message, "m79")
    # The newest first, and enough older ones to fill the window: the oldest only on scrolling.
    await in_thread(page.wait_until, page.overflows)
    assert "m00" not in await in_thread(page.texts)
    await in_thread(page.scroll_up_until, "m00")
    # Every line once, in the room's order, however many answers it took.
    assert said(await in_thread(page.texts), "m") == [f"m{i:02}" for i in range(80)]


async def test_a_page_reconnecting_after_a_restart_shows_exactly_what_it_missed_once(
    start_server: StartServer, open_page: Callable[[str], Any], tmp_path: Path
) -> None:
    saved: dict[str, Any] = {
        "database": str(tmp_path / "history.sqlite3"),
        "history": HistoryConfig(ring=5),  # what it missed is on disk, beyond memory
        "limits": Limits(history_lines=5),  # and more than a rejoining member is shown
    }
    server = await start_server(web=True, **saved)
    port = server.web_port
    nc = await server.join("nc")
    page: Page = await open_page(f"http://127.0.0.1:{port}/")
    await in_thread(page.log_in, "ana")
    await nc.expect("* ana joined")
    for i in range(3):
        await nc.send(f"seen {i}")
        await nc.expect(f"<nc> seen {i}")
    await in_thread(page.wait_for_message, "seen 2")

    # The server stops; the room goes on without the web port (so without the page), then the
    # server starts again with it, on the same database.
    server.stop.set()
    await server.finished.wait()
    await in_thread(page.wait_for_text, "status", "reconnecting")
    without_web = await start_server(**saved)
    bea = await without_web.join("bea")
    for i in range(30):
        await bea.send(f"missed {i}")
    while await bea.receive_line() != "<bea> missed 29":  # (#lobby's history comes first)
        pass
    without_web.stop.set()
    await without_web.finished.wait()
    restarted = await start_server(web=True, web_port=port, **saved)
    await in_thread(page.wait_for_text, "status", "connected as ana")
    await in_thread(page.wait_for_message, "missed 29")
    nc = await restarted.join("nc")
    await nc.send("live again")
    await in_thread(page.wait_for_message, "live again")

    texts = await in_thread(page.texts)
    expected = [f"seen {i}" for i in range(3)] + [f"missed {i}" for i in range(30)]
    assert said(texts, "seen", "missed", "live") == [*expected, "live again"]
    # What it missed is new: the divider is above it (below what was read before).
    first = await in_thread(page.first_unread)
    assert first is not None
    assert texts.index("seen 2") < texts.index(first) <= texts.index("missed 0")


async def test_a_page_shows_who_is_typing_until_their_message_comes(
    start_server: StartServer, open_page: Callable[[str], Any]
) -> None:
    server = await start_server(web=True)
    url = f"http://127.0.0.1:{server.web_port}/"
    ana: Page = await open_page(url)
    bruno: Page = await open_page(url)
    await in_thread(ana.log_in, "ana")
    await in_thread(bruno.log_in, "bruno")
    await in_thread(ana.wait_for_text, "members", "bruno")
    await in_thread(lambda: bruno.type_into("say", "hello the", submit=False))
    await in_thread(ana.wait_for_text, "typing", "bruno is typing")
    assert await in_thread(bruno.text_of, "typing") == ""  # not our own
    await in_thread(bruno.type_into, "say", "re")  # and Enter
    await in_thread(ana.wait_for_message, "hello there")
    await in_thread(ana.wait_until, lambda: ana.text_of("typing") == "")


async def test_the_first_unread_line_is_marked_where_the_accounts_read_marker_says(
    start_server: StartServer, open_page: Callable[[str], Any], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    rules = AccountRules(failed_login_delay=0.05)
    server = await start_server(
        web=True, accounts=rules, database=str(tmp_path / "db"), history=HistoryConfig()
    )
    url = f"http://127.0.0.1:{server.web_port}/"
    nc = await server.join("nc")
    page: Page = await open_page(url)
    await in_thread(lambda: page.type_into("nick", "ana", submit=False))
    await in_thread(lambda: page.driver.find_element(By.ID, "register").click())
    await in_thread(page.wait_for_text, "login-error", "choose a password for ana")
    await in_thread(lambda: page.type_into("password", "a long passphrase", submit=False))
    await in_thread(lambda: page.driver.find_element(By.ID, "register").click())
    await in_thread(page.wait_for_text, "status", "connected as ana")
    await nc.expect("* ana joined")
    await nc.send("read by ana")
    await nc.expect("<nc> read by ana")
    await in_thread(page.wait_for_message, "read by ana")
    # Seen at the bottom of a visible tab: read, and the account's marker says so.
    marker = "const v = state.views.get('#lobby'); return v.marker !== null && v.marker >= "
    newest = "Math.round(v.lines.findLast((item) => item.id).time * 1000)"
    await in_thread(page.wait_until, lambda: page.driver.execute_script(marker + newest))
    assert await in_thread(page.first_unread) is None  # (read as it came: nothing new)

    # The page goes (as a closed tab does: no reconnection); the room goes on; a new page,
    # which its ticket logs in, knows nothing but what the account's marker says.
    await in_thread(page.driver.execute_script, "state.leaving = true; state.socket.close()")
    while not (await nc.receive_line()).startswith("* ana left"):
        pass
    await nc.send("said while ana was away")
    await nc.expect("<nc> said while ana was away")
    await in_thread(page.driver.refresh)
    await in_thread(page.wait_for_message, "said while ana was away")
    assert await in_thread(page.first_unread) == "said while ana was away"
