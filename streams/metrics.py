"""Prometheus metrics of the streams worker: every drop, dead letter and retry is counted, and
the races held in memory are gauged."""

from prometheus_client import Counter, Gauge

EVENTS_CONSUMED = Counter("darkhorses_stream_events_total", "Events consumed, by topic.", ["topic"])
DEAD_LETTERS = Counter(
    "darkhorses_stream_dead_letters_total", "Events sent to the dead-letter topic.", ["topic"]
)
STALE_EVENTS = Counter(
    "darkhorses_stream_stale_prices_total",
    "Prices ignored because a newer one was already applied (duplicate or out of order).",
    ["topic"],
)
SINK_ROWS = Counter("darkhorses_sink_rows_total", "Rows written to PostgreSQL.", ["table"])
SINK_RETRIES = Counter("darkhorses_sink_retries_total", "PostgreSQL write retries.", ["table"])
RACES_HELD = Gauge("darkhorses_stream_races_held", "Races in the worker's memory.")
RACES_RETIRED = Gauge(
    "darkhorses_stream_races_retired", "Races retired to PostgreSQL, revived by a later event."
)
RACES_REVIVED = Counter(
    "darkhorses_stream_races_revived_total", "Retired races brought back for a later event."
)
