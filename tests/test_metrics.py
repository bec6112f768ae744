"""Prometheus' text format, written by the metrics module itself: read back by prometheus-client.

The server does not import prometheus-client (tests/test_imports.py checks it); its parser, here,
is the judge of what the server writes.
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from trio_chat.shell.metrics import CONTENT_TYPE, Exposition, Histogram, Metrics


def parsed(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_a_histogram_is_written_with_cumulative_buckets_its_count_and_sum() -> None:
    histogram = Histogram((0.1, 1.0, 0.01))  # in any order
    for value in (0.005, 0.01, 0.5, 0.5, 7.0):
        histogram.observe(value)
    text = Exposition()
    text.histogram("turns", "Turns", histogram)
    samples = parsed(text.encode())
    buckets = {labels[0][1]: value for (name, labels), value in samples.items() if labels}
    # At most each bound: 0.01 counts in its own bucket, 7.0 only in +Inf.
    assert buckets == {"0.01": 2, "0.1": 2, "1.0": 4, "+Inf": 5}
    assert samples[("turns_count", ())] == 5
    assert samples[("turns_sum", ())] == 8.015


def test_help_and_label_values_are_escaped() -> None:
    text = Exposition()
    awkward = 'a "quoted" back\\slash\nand a new line'
    text.labelled("odd", "counter", awkward, ("why",), [((awkward,), 2)])
    (family,) = text_string_to_metric_families(text.encode().decode())
    assert (family.name, family.type, family.documentation) == ("odd", "counter", awkward)
    (sample,) = family.samples
    assert (sample.name, sample.labels, sample.value) == ("odd_total", {"why": awkward}, 2)


def test_the_shells_counts_are_written_as_prometheus_reads_them() -> None:
    metrics = Metrics()
    metrics.connected("plain")
    metrics.connected("plain")
    metrics.disconnected("plain")
    metrics.connected("IRC")
    metrics.websocket_opened("json")
    metrics.flood_delayed(0.25)
    metrics.flood_delayed(0.5)
    metrics.turn_seconds.observe(0.002)
    metrics.trims.trims, metrics.trims.released = 2, 3 << 20
    body, content_type = metrics.exposition()
    assert content_type == CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
    samples = parsed(body)
    assert samples[("trio_chat_connections_accepted_total", (("front_end", "plain"),))] == 2
    assert samples[("trio_chat_connections_accepted_total", (("front_end", "IRC"),))] == 1
    assert samples[("trio_chat_connections", (("front_end", "plain"),))] == 1
    assert samples[("trio_chat_websockets_opened_total", (("protocol", "json"),))] == 1
    assert samples[("trio_chat_flood_delays_total", ())] == 2
    assert samples[("trio_chat_flood_delay_seconds_total", ())] == 0.75
    assert samples[("trio_chat_turn_seconds_bucket", (("le", "0.003"),))] == 1
    assert samples[("trio_chat_heap_trims_total", ())] == 2
    assert samples[("trio_chat_heap_trimmed_bytes_total", ())] == 3 << 20
    assert ("trio_chat_members", ()) not in samples  # no hub yet: nothing of its state
