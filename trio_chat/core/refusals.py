"""Why something a member asked for was refused: a typed reason that each front end words.

A refusal is a value, never an exception and never a ready-made sentence: the plain front end
turns it into an English line, the IRC front end into a numeric, the web page into a code it
can show next to the field that caused it. :func:`explain` is the English wording, shared by the
front ends that show text to a person.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Reason(enum.Enum):
    """What was wrong. The value is the stable code a JSON client sees."""

    NICK_EMPTY = "nick_empty"
    NICK_TOO_LONG = "nick_too_long"  # detail: the limit
    NICK_INVALID = "nick_invalid"  # detail: the character that is not allowed
    NICK_RESERVED = "nick_reserved"
    NICK_NOT_ASCII = "nick_not_ascii"
    NICK_MIXED_SCRIPTS = "nick_mixed_scripts"  # detail: the scripts, comma-separated
    NICK_TAKEN = "nick_taken"
    NICK_LOOKALIKE = "nick_lookalike"  # detail: who is online under the look-alike name
    NICK_REGISTERED = "nick_registered"  # an account's name: its owner must log in first
    NICK_LOOKS_REGISTERED = "nick_looks_registered"  # detail: the account it looks like
    NICK_UNCHANGED = "nick_unchanged"
    ALREADY_REGISTERED = "already_registered"
    NO_SUCH_NICK = "no_such_nick"
    ROOM_NAME_NO_HASH = "room_name_no_hash"
    ROOM_NAME_EMPTY = "room_name_empty"
    ROOM_NAME_TOO_LONG = "room_name_too_long"  # detail: the limit
    ROOM_NAME_INVALID = "room_name_invalid"  # detail: the character that is not allowed
    NO_SUCH_ROOM = "no_such_room"
    NOT_IN_ROOM = "not_in_room"
    CANNOT_SEND = "cannot_send"  # to a room one is not in
    IN_NO_ROOM = "in_no_room"
    TOO_MANY_ROOMS_JOINED = "too_many_rooms_joined"  # detail: the limit per member
    TOO_MANY_ROOMS = "too_many_rooms"  # detail: the limit for the server
    TOPIC_TOO_LONG = "topic_too_long"  # detail: the limit in bytes
    AWAY_TOO_LONG = "away_too_long"  # detail: the limit in bytes
    REALNAME_INVALID = "realname_invalid"  # empty, or too long; detail: the limit in bytes
    WATCH_LIST_FULL = "watch_list_full"  # subject: the nicknames left out; detail: the limit
    UNKNOWN_COMMAND = "unknown_command"
    USAGE = "usage"  # detail: the command's synopsis
    LINE_TOO_LONG = "line_too_long"  # detail: the limit in bytes
    EXCESS_FLOOD = "excess_flood"
    UNAVAILABLE = "unavailable"  # the processes' shared service (Redis) cannot be reached
    WRONG_PASSWORD = "wrong_password"  # subject: the account
    NO_SUCH_ACCOUNT = "no_such_account"
    PASSWORD_TOO_SHORT = "password_too_short"  # detail: the least, in bytes
    PASSWORD_TOO_LONG = "password_too_long"  # detail: the most, in bytes
    ACCOUNT_EXISTS = "account_exists"  # subject: the name (or one that looks like it)
    ACCOUNT_NAME_IN_USE = "account_name_in_use"  # subject: the name, used by someone online
    ALREADY_LOGGED_IN = "already_logged_in"  # subject: the account
    NOT_LOGGED_IN = "not_logged_in"
    # History: subject the target; detail the query's direction (IRC's CHATHISTORY subcommand).
    HISTORY_NOT_YOURS = "history_not_yours"  # a room one is not in (or that does not exist)
    HISTORY_NEEDS_LOGIN = "history_needs_login"  # private messages are kept for accounts only
    PRIVATE_HISTORY_NEEDS_LOGIN = "private_history_needs_login"  # turning it on or off
    HISTORY_UNAVAILABLE = "history_unavailable"  # the database could not be read in time
    # Redaction: subject the target; detail the message's id.
    REDACT_INVALID_TARGET = "redact_invalid_target"  # a room one is not in, or no account
    REDACT_UNKNOWN = "redact_unknown"  # no such message there (or no longer in memory)
    REDACT_FORBIDDEN = "redact_forbidden"  # someone else's, and one does not run the room
    LOGOUT_USING_NAME = "logout_using_name"  # subject: the account whose name you are using
    LOGINS_THROTTLED = "logins_throttled"  # detail: seconds until the next try
    REGISTRATIONS_THROTTLED = "registrations_throttled"  # detail: seconds until the next one
    NOT_SAVED = "not_saved"  # an account change the server could not write to its disk
    # Moderation: subject is the room, unless said otherwise.
    NOT_ROOM_OPERATOR = "not_room_operator"
    NOT_SERVER_OPERATOR = "not_server_operator"
    BANNED_FROM_ROOM = "banned_from_room"
    INVITE_ONLY = "invite_only"
    WRONG_KEY = "wrong_key"
    ROOM_FULL = "room_full"  # detail: the limit
    ACCOUNT_NEEDED = "account_needed"  # to join (+R)
    MODERATED = "moderated"  # cannot speak: the room is +m and you have no voice
    MUTED = "muted"  # cannot speak: a mute names you
    ACCOUNT_NEEDED_TO_SPEAK = "account_needed_to_speak"  # +M
    BANNED_CANNOT_SPEAK = "banned_cannot_speak"  # a ban names you, in a room you are in
    NOT_IN_THAT_ROOM = "not_in_that_room"  # subject: the nickname; detail: the room
    ALREADY_IN_ROOM = "already_in_room"  # subject: the nickname; detail: the room
    UNKNOWN_MODE = "unknown_mode"  # detail: the letter
    BAD_MODE_ARGUMENT = "bad_mode_argument"  # subject: the room; detail: the mode's letter
    NOT_A_MASK = "not_a_mask"  # subject: what was typed for a server ban
    LIST_FULL = "list_full"  # detail: the limit
    SERVER_BANNED = "server_banned"  # detail: the reason
    WRONG_OPERATOR_LOGIN = "wrong_operator_login"
    ROOMS_CREATED_THROTTLED = "rooms_created_throttled"  # detail: the limit
    ROOM_ALREADY_REGISTERED = "room_already_registered"  # detail: its founder
    ROOM_NOT_REGISTERED = "room_not_registered"
    NOT_FOUNDER = "not_founder"  # detail: the founder
    NO_SUCH_SERVER_BAN = "no_such_server_ban"  # subject: the mask


@dataclass(frozen=True, slots=True)
class Refusal:
    """``reason`` refused; ``subject`` is the nickname, room or command concerned, if any."""

    reason: Reason
    subject: str = ""
    detail: str = ""


_ENGLISH = {
    Reason.NICK_EMPTY: "a nickname needs at least one character",
    Reason.NICK_TOO_LONG: "nickname too long (max {detail} characters)",
    Reason.NICK_INVALID: "nicknames use letters, digits, _ and - only (not {detail})",
    Reason.NICK_RESERVED: "the nickname {subject} is reserved",
    Reason.NICK_NOT_ASCII: "nicknames here use ASCII letters and digits only",
    Reason.NICK_MIXED_SCRIPTS: "nicknames cannot mix writing systems ({detail})",
    Reason.NICK_TAKEN: "nickname {subject} is taken",
    Reason.NICK_LOOKALIKE: "the nickname {subject} looks too much like {detail}, who is online",
    Reason.NICK_REGISTERED: "{subject} is registered: log in to use it",
    Reason.NICK_LOOKS_REGISTERED: (
        "the nickname {subject} looks too much like {detail}, a registered name"
    ),
    Reason.NICK_UNCHANGED: "you are already {subject}",
    Reason.ALREADY_REGISTERED: "you have already joined",
    Reason.NO_SUCH_NICK: "nobody called {subject} is online",
    Reason.ROOM_NAME_NO_HASH: "room names start with # (try #{subject})",
    Reason.ROOM_NAME_EMPTY: "a room name needs at least one character after the #",
    Reason.ROOM_NAME_TOO_LONG: "room name too long (max {detail} characters after the #)",
    Reason.ROOM_NAME_INVALID: "room names use letters, digits, _ and - only (not {detail})",
    Reason.NO_SUCH_ROOM: "there is no room {subject}",
    Reason.NOT_IN_ROOM: "you are not in {subject}",
    Reason.CANNOT_SEND: "you are not in {subject}",
    Reason.IN_NO_ROOM: "you are in no room",
    Reason.TOO_MANY_ROOMS_JOINED: "you are in {detail} rooms, the most allowed",
    Reason.TOO_MANY_ROOMS: "the server has {detail} rooms, the most allowed: join one of them",
    Reason.TOPIC_TOO_LONG: "topic too long (max {detail} bytes)",
    Reason.AWAY_TOO_LONG: "away message too long (max {detail} bytes)",
    Reason.REALNAME_INVALID: "a real name is 1 to {detail} bytes",
    Reason.WATCH_LIST_FULL: "you watch as many nicknames as you may ({detail}): not {subject}",
    Reason.UNKNOWN_COMMAND: "unknown command {subject}",
    Reason.USAGE: "usage: {detail}",
    Reason.LINE_TOO_LONG: "line too long (max {detail} bytes)",
    Reason.EXCESS_FLOOD: "excess flood",
    Reason.UNAVAILABLE: "not sent: chat is unavailable, retrying",
    Reason.WRONG_PASSWORD: "wrong password for {subject}",
    Reason.NO_SUCH_ACCOUNT: "there is no account {subject}",
    Reason.PASSWORD_TOO_SHORT: "a password needs at least {detail} bytes",
    Reason.PASSWORD_TOO_LONG: "a password has at most {detail} bytes",
    Reason.ACCOUNT_EXISTS: "{subject} is registered already",
    Reason.ACCOUNT_NAME_IN_USE: "{subject} is someone else's nickname now",
    Reason.ALREADY_LOGGED_IN: "you are logged in as {subject} already",
    Reason.NOT_LOGGED_IN: "you are not logged in",
    Reason.HISTORY_NOT_YOURS: "you are not in {subject}, so you cannot read its history",
    Reason.HISTORY_NEEDS_LOGIN: "private messages are kept only for accounts: log in first",
    Reason.PRIVATE_HISTORY_NEEDS_LOGIN: (
        "private messages are kept only for accounts: log in to choose whether yours are"
    ),
    Reason.HISTORY_UNAVAILABLE: "the history of {subject} cannot be read right now",
    Reason.REDACT_INVALID_TARGET: "you cannot take back messages sent to {subject}",
    Reason.REDACT_UNKNOWN: "there is no message {detail} in {subject} to take back",
    Reason.REDACT_FORBIDDEN: "message {detail} is not yours to take back",
    Reason.LOGOUT_USING_NAME: "you use the name {subject}: change your nickname first",
    Reason.LOGINS_THROTTLED: "too many wrong passwords: try again in {detail} seconds",
    Reason.REGISTRATIONS_THROTTLED: "too many registrations: try again in {detail} seconds",
    Reason.NOT_SAVED: "the server could not save this (its disk): it holds until a restart",
    Reason.NOT_ROOM_OPERATOR: "you are not an operator of {subject}",
    Reason.NOT_SERVER_OPERATOR: "only server operators may do that",
    Reason.BANNED_FROM_ROOM: "you are banned from {subject}",
    Reason.INVITE_ONLY: "{subject} is invite-only: ask one of its operators for an invitation",
    Reason.WRONG_KEY: "{subject} needs its key to join (/join {subject} key)",
    Reason.ROOM_FULL: "{subject} is full ({detail} members)",
    Reason.ACCOUNT_NEEDED: "{subject} is for members logged in to an account: log in first",
    Reason.MODERATED: "{subject} is moderated: only members with voice speak there",
    Reason.MUTED: "you are muted in {subject}",
    Reason.ACCOUNT_NEEDED_TO_SPEAK: "only members logged in to an account speak in {subject}",
    Reason.BANNED_CANNOT_SPEAK: "you are banned from {subject}, so you cannot speak there",
    Reason.NOT_IN_THAT_ROOM: "{subject} is not in {detail}",
    Reason.ALREADY_IN_ROOM: "{subject} is already in {detail}",
    Reason.UNKNOWN_MODE: "there is no mode {detail}",
    Reason.BAD_MODE_ARGUMENT: "that is not a valid value for mode {detail} of {subject}",
    Reason.NOT_A_MASK: "{subject} is neither a mask (nick!user@host, a:account) nor a network",
    Reason.LIST_FULL: "that list is full ({detail} entries)",
    Reason.SERVER_BANNED: "you are banned from this server: {detail}",
    Reason.WRONG_OPERATOR_LOGIN: "wrong operator name or password",
    Reason.ROOMS_CREATED_THROTTLED: "you have made {detail} rooms, the most allowed: join one",
    Reason.ROOM_ALREADY_REGISTERED: "{subject} is registered already (founder: {detail})",
    Reason.ROOM_NOT_REGISTERED: "{subject} is not registered",
    Reason.NOT_FOUNDER: "only {subject}'s founder ({detail}) may do that",
    Reason.NO_SUCH_SERVER_BAN: "there is no server ban on {subject}",
}


def explain(refusal: Refusal) -> str:
    """Word ``refusal`` in English, for the person whose request it refuses."""
    return _ENGLISH[refusal.reason].format(subject=refusal.subject, detail=refusal.detail)
