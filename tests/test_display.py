"""The client's display: markers to colours, control characters never passed through."""

from __future__ import annotations

import pytest

from trio_chat.client.display import (
    BOLD,
    DIM,
    MAGENTA,
    NICK_COLOURS,
    RED,
    RESET,
    Display,
    nick_colour,
)


def test_plain_display_shows_lines_as_received_minus_control_characters() -> None:
    display = Display(color=False)
    assert display.show("<alice> hello") == "<alice> hello"
    assert (
        display.show("<mallory> \x1b[2J\x1b]0;title\x07gotcha\x9b") == "<mallory> [2J]0;titlegotcha"
    )


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("* bob joined", f"{DIM}* bob joined{RESET}"),
        ("! nickname bob is taken", f"{RED}! nickname bob is taken{RESET}"),
        ("[pm from bob] hi", f"{MAGENTA}[pm from bob] hi{RESET}"),
        ("<bob> hi", f"{nick_colour('bob')}<bob>{RESET} hi"),
        ("no marker", "no marker"),
    ],
)
def test_colour_by_marker(line: str, shown: str) -> None:
    assert Display(color=True).show(line) == shown


def test_own_nickname_is_bold_and_followed_through_renames() -> None:
    display = Display(color=True)
    display.show("* welcome, alice! online (1): alice")
    assert display.show("<alice> me") == f"{BOLD}<alice>{RESET} me"
    display.show("* alice is now al")
    assert display.own_nick == "al"
    assert display.show("<al> me again") == f"{BOLD}<al>{RESET} me again"
    display.show("* bob is now robert")  # someone else's rename changes nothing
    assert display.own_nick == "al"


def test_nick_colours_are_stable_and_varied() -> None:
    assert nick_colour("bob") == nick_colour("bob")
    colours = {nick_colour(f"user{n}") for n in range(100)}
    assert len(colours) == len(NICK_COLOURS)


def test_the_prompt_follows_the_current_room() -> None:
    display = Display(color=False)
    assert display.prompt() == "> "
    display.show("* welcome, alice! online (1): alice")
    assert display.prompt() == "#lobby> "
    display.show("* welcome to #rust! online (2): alice, bob")
    assert display.prompt() == "#rust> "
    display.show("* now talking in #lobby")
    assert display.prompt() == "#lobby> "
    display.show("<bob> * now talking in #fake")  # what someone says changes nothing
    display.show("#rust <bob> * welcome to #fake! online (1): x")
    assert display.prompt() == "#lobby> "
    display.show("* you are in no room now (try /join #name)")
    assert display.prompt() == "> "


def test_room_names_are_coloured_like_nicknames() -> None:
    display = Display(color=True)
    assert display.show("#rust <bob> hi") == (
        f"{nick_colour('#rust')}#rust{RESET} {nick_colour('bob')}<bob>{RESET} hi"
    )
    assert display.show("#rust * bob joined") == (
        f"{nick_colour('#rust')}#rust{RESET} {DIM}* bob joined{RESET}"
    )


def test_roles_are_marked_in_lists_of_who_is_online() -> None:
    display = Display(color=False)
    assert display.show("* online (3): @alice, +bob, carol") == "* online (3): @alice, +bob, carol"
    display = Display(color=True)
    shown = display.show("* welcome, carol! online (3): @alice, +bob, carol")
    assert display.own_nick == "carol"
    assert shown == (
        f"{DIM}* welcome, carol! online (3): {RESET}"
        f"{BOLD}@{RESET}{nick_colour('alice')}alice{RESET}, "
        f"{BOLD}+{RESET}{nick_colour('bob')}bob{RESET}, {BOLD}carol{RESET}"
    )
    assert display.show("#rust * online (1): @carol") == (
        f"{nick_colour('#rust')}#rust{RESET} {DIM}* online (1): {RESET}"
        f"{BOLD}@{RESET}{BOLD}carol{RESET}"
    )
