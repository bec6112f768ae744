"""The metrics an operator watches moderation by: kicks, bans, server bans, registered rooms."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import StartServer
from tests.test_moderation_persistence import QUICK, connect, join, new_account
from trio_chat.core.events import ServerBanEntry
from trio_chat.core.hub import Hub
from trio_chat.shell.metrics import Metrics

NAMES = (
    "trio_chat_kicks_total",
    "trio_chat_room_bans_total",
    "trio_chat_registered_rooms",
    "trio_chat_server_bans",
    'trio_chat_refusals_total{reason="banned_from_room"}',
    'trio_chat_removals_total{reason="banned"}',
)


def samples(metrics: Metrics) -> dict[str, float]:
    body, _ = metrics.exposition()
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sample.labels.items())
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return {name: found.get(name, 0.0) for name in NAMES}


async def test_kicks_bans_server_bans_and_registered_rooms_are_counted(
    start_server: StartServer,
) -> None:
    server = await start_server(irc=True, operators=("alice",), accounts=QUICK)
    metrics = server.config.metrics
    assert set(samples(metrics).values()) == {0.0}
    alice = await connect(server.irc_port, server.clients)
    await new_account(alice, "alice")
    await join(alice, "#rust")
    await alice.send("PRIVMSG ChanServ :REGISTER #rust")
    mallory = await connect(server.irc_port, server.clients)
    await mallory.register("mallory", lobby=False)
    await join(mallory, "#rust")
    await alice.send("KICK #rust mallory :go away")
    await alice.send("MODE #rust +bb mallory!*@* m:troll!*@*")  # a ban and a mute
    await alice.send("MODE #rust -b m:troll!*@*")  # lifted: still counted as set once
    await alice.send("KLINE 1h eve!*@* spamming")
    await alice.send("KLINE 1s old!*@* expires soon")
    await alice.sync()
    assert (await join(mallory, "#rust"))[-1].command == "474"
    eve = await connect(server.irc_port, server.clients)
    await eve.send("NICK eve")
    await eve.send("USER eve 0 * :Eve")
    assert (await eve.receive()).command == "465"
    await alice.send("UNKLINE old!*@*")
    await alice.sync()
    assert samples(metrics) == {
        "trio_chat_kicks_total": 1,
        "trio_chat_room_bans_total": 2,
        "trio_chat_registered_rooms": 1,
        "trio_chat_server_bans": 1,
        'trio_chat_refusals_total{reason="banned_from_room"}': 1,
        'trio_chat_removals_total{reason="banned"}': 1,
    }


def test_server_bans_in_force_leave_out_the_expired_ones() -> None:
    hub = Hub()
    hub.load_server_bans(
        [
            ServerBanEntry("a!*@*", "for good", "oper", 100.0),
            ServerBanEntry("b!*@*", "an hour", "oper", 100.0, 3700.0),
            ServerBanEntry("c!*@*", "a second", "oper", 100.0, 101.0),
        ]
    )
    assert [hub.server_bans_in_force(now) for now in (100.0, 101.0, 3700.0)] == [3, 2, 1]
