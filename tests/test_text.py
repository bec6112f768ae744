"""Nickname validation and normalization; text sanitization."""

from __future__ import annotations

import pytest

from tests.names import nick, room
from trio_chat.core.refusals import Reason, Refusal, explain
from trio_chat.core.text import (
    MAX_NICKNAME_CHARS,
    MAX_ROOM_NAME_CHARS,
    Nickname,
    NicknamePolicy,
    RoomName,
    decode,
    normalize,
    sanitize,
)


@pytest.mark.parametrize(
    ("typed", "display"),
    [
        ("alice", "alice"),
        ("  alice  ", "alice"),
        ("Al_ice-2", "Al_ice-2"),
        ("ａｌｉｃｅ", "alice"),  # noqa: RUF001 (fullwidth letters: NFKC makes them ASCII)
        ("Zoë", "Zoë"),
        ("李小龍", "李小龍"),
        ("नमस्ते", "नमस्ते"),  # combining vowel signs after a letter
        ("x" * MAX_NICKNAME_CHARS, "x" * MAX_NICKNAME_CHARS),
    ],
)
def test_valid_nicknames(typed: str, display: str) -> None:
    assert nick(typed).display == display


@pytest.mark.parametrize(
    ("first", "second"),
    [("Alice", "alice"), ("ALICE", "ａｌｉｃｅ"), ("Straße", "STRASSE")],  # noqa: RUF001
)
def test_case_and_width_variants_share_a_key(first: str, second: str) -> None:
    assert nick(first).key == nick(second).key
    assert nick(first) != nick(second)  # but display differently


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "a nickname needs at least one character"),
        ("   ", "a nickname needs at least one character"),
        ("x" * (MAX_NICKNAME_CHARS + 1), "nickname too long (max 32 characters)"),
        ("al ice", "nicknames use letters, digits, _ and - only (not spaces)"),
        ("alice!", "nicknames use letters, digits, _ and - only (not '!')"),
        ("\x1b[31m", "nicknames use letters, digits, _ and - only (not U+001B)"),
        ("ab\x07cd", "nicknames use letters, digits, _ and - only (not U+0007)"),
        ("\x1falice", "nicknames use letters, digits, _ and - only (not U+001F)"),
        ("ali\u202ece", "nicknames use letters, digits, _ and - only (not U+202E)"),
        ("a\u200bb", "nicknames use letters, digits, _ and - only (not U+200B)"),
        ("\u0301a", "nicknames use letters, digits, _ and - only (not U+0301)"),
    ],
)
def test_refused_nicknames_say_why(typed: str, reason: str) -> None:
    refusal = Nickname.parse(typed)
    assert isinstance(refusal, Refusal)
    assert explain(refusal) == reason


def test_sanitize_removes_control_characters_but_keeps_tabs_and_text() -> None:
    assert sanitize("a\tb") == "a\tb"
    assert sanitize("\x1b[2J\x07bell\x7f\x85\x9b31m ok") == "[2Jbell31m ok"
    assert sanitize("日本語 ünïcödé 👍🏽") == "日本語 ünïcödé 👍🏽"


def test_decode_replaces_invalid_utf8() -> None:
    assert decode(b"caf\xc3\xa9 \xff\xfe ok\x1b") == "café \ufffd\ufffd ok"


def test_sanitize_removes_bidi_controls_that_disguise_text() -> None:
    # U+202E (RIGHT-TO-LEFT OVERRIDE) would display "invoice_\u202efdp.exe" as invoice_exe.pdf.
    assert sanitize("invoice_\u202efdp.exe") == "invoice_fdp.exe"
    embeddings_and_isolates = "".join(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
    assert sanitize(f"a{embeddings_and_isolates}b") == "ab"


@pytest.mark.parametrize("mark", ["\u200e", "\u200f", "\u061c"])
def test_sanitize_removes_bidi_marks_too(mark: str) -> None:
    # A right-to-left mark is enough to move "exe" to the front of a filename's display.
    assert sanitize(f"photo{mark}gpj.exe") == "photogpj.exe"


def test_line_and_paragraph_separators_become_spaces() -> None:
    # Some clients start a new line at U+2028: "hi\u2028<bob> send me your password".
    assert sanitize("hi\u2028<bob> x\u2029y") == "hi <bob> x y"


@pytest.mark.parametrize(
    "text",
    [
        "\U0001f469\u200d\U0001f4bb",  # woman technologist: an emoji ZWJ sequence
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian, with a ZWNJ
        "\u05e9\u05dc\u05d5\u05dd and \u0633\u0644\u0627\u0645",  # Hebrew and Arabic
    ],
)
def test_sanitize_keeps_what_real_languages_need(text: str) -> None:
    assert sanitize(text) == text


def test_nicknames_allow_no_format_characters() -> None:
    assert Nickname.parse("al\u200dice") == Refusal(Reason.NICK_INVALID, "al\u200dice", "U+200D")


@pytest.mark.parametrize(
    "name",
    ["server", "System", "ADMIN", "root", "operator", "NickServ", "ChanServ", "ｒｏｏｔ"],  # noqa: RUF001
)
def test_reserved_nicknames_are_refused_in_any_case_or_width(name: str) -> None:
    parsed = nick(name)
    assert NicknamePolicy().refusal(parsed) == Refusal(Reason.NICK_RESERVED, parsed.display)


@pytest.mark.parametrize(
    "typed",
    [
        "paypal\u034f",  # combining grapheme joiner: a mark, allowed after a letter until now
        "admin\ufe0f",  # variation selector 16
        "bob\U000e0100",  # variation selector 17
        "bob\u180b",  # Mongolian free variation selector
        "\u3164",  # Hangul filler: a letter that draws nothing
        "a\u115fb",  # Hangul choseong filler
        "bob\u00ad",  # soft hyphen
    ],
)
def test_nicknames_and_room_names_refuse_invisible_characters(typed: str) -> None:
    invisible = next(char for char in normalize(typed) if not char.isascii())
    refusal = Nickname.parse(typed)
    assert isinstance(refusal, Refusal)
    assert refusal.reason == Reason.NICK_INVALID
    assert refusal.detail == f"U+{ord(invisible):04X}"  # named by code point: it has no face
    room_refusal = RoomName.parse(f"#{typed}")
    assert isinstance(room_refusal, Refusal)
    assert room_refusal.reason == Reason.ROOM_NAME_INVALID


@pytest.mark.parametrize(
    "name",
    [
        "ᴀᴅᴍɪɴ",  # small capitals
        "ɑdmin",  # Latin alpha  # noqa: RUF001
        "ADMlN",  # lowercase L for I
        "r00t",  # zeros for O, in upper case a look-alike of ROOT
        "trio-chat",  # the IRC server's own name: its NOTICEs would look like the server's
        "Services",
        "MemoServ",
    ],
)
def test_reserved_nicknames_are_refused_in_their_look_alikes(name: str) -> None:
    parsed = nick(name)
    assert NicknamePolicy().refusal(parsed) == Refusal(Reason.NICK_RESERVED, parsed.display)


def test_reserved_nicknames_are_configurable_and_ascii_can_be_required() -> None:
    policy = NicknamePolicy(reserved=("bot*",), ascii_only=True)
    assert policy.refusal(nick("admin")) is None
    assert policy.refusal(nick("Botty")) == Refusal(Reason.NICK_RESERVED, "Botty")
    assert policy.refusal(nick("Zoë")) == Refusal(Reason.NICK_NOT_ASCII, "Zoë")
    assert NicknamePolicy().refusal(nick("Zoë")) is None


@pytest.mark.parametrize(
    ("typed", "display", "key"),
    [
        ("#lobby", "#lobby", "#lobby"),
        ("#Rust", "#Rust", "#rust"),
        ("  #go-lang_2  ", "#go-lang_2", "#go-lang_2"),
        ("#ｒｕｓｔ", "#rust", "#rust"),  # noqa: RUF001 (fullwidth letters: NFKC makes them ASCII)
        ("#Straße", "#Straße", "#strasse"),
        ("#日本語", "#日本語", "#日本語"),
        ("#" + "x" * MAX_ROOM_NAME_CHARS, "#" + "x" * MAX_ROOM_NAME_CHARS, None),
    ],
)
def test_valid_room_names(typed: str, display: str, key: str | None) -> None:
    parsed = room(typed)
    assert parsed.display == display
    assert parsed.key == (key or display)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("lobby", "room names start with # (try #lobby)"),
        ("#", "a room name needs at least one character after the #"),
        (
            "#" + "x" * (MAX_ROOM_NAME_CHARS + 1),
            "room name too long (max 50 characters after the #)",
        ),
        ("#a b", "room names use letters, digits, _ and - only (not spaces)"),
        ("#a#b", "room names use letters, digits, _ and - only (not '#')"),
        ("#ab\x07c", "room names use letters, digits, _ and - only (not U+0007)"),
        ("#ab\u2066c", "room names use letters, digits, _ and - only (not U+2066)"),
    ],
)
def test_refused_room_names_say_why(typed: str, reason: str) -> None:
    refusal = RoomName.parse(typed)
    assert isinstance(refusal, Refusal)
    assert explain(refusal) == reason
