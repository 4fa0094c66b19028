"""`darkhorses up`: each child's output lines carry its name; each streams worker its own
metrics port."""

import io

from darkhorses.stack import STREAMS_METRICS_PORT, relay, streams_env


def test_each_line_of_a_child_is_prefixed_with_its_name() -> None:
    source = io.BytesIO(b"INFO started\nWARNING slow\npartial")
    sink = io.BytesIO()
    relay(source, sink, b"[streams-1] ")
    assert sink.getvalue().splitlines() == [
        b"[streams-1] INFO started",
        b"[streams-1] WARNING slow",
        b"[streams-1] partial",
    ]


def test_streams_workers_serve_metrics_on_distinct_ports() -> None:
    env = {"DATABASE_URL": "postgresql://x", "DARKHORSES_STREAMS_METRICS_PORT": "1"}
    ports = [
        streams_env(env, worker, STREAMS_METRICS_PORT)["DARKHORSES_STREAMS_METRICS_PORT"]
        for worker in range(3)
    ]
    assert ports == ["9100", "9101", "9102"]
    ids = {streams_env(env, worker, 9100)["DARKHORSES_STREAMS_INSTANCE_ID"] for worker in range(3)}
    assert len(ids) == 3
    assert streams_env(env, 0, 9100)["DATABASE_URL"] == "postgresql://x"
