"""`python -m bench`: run every benchmark in turn."""

from bench import slice as slice_bench
from bench import websocket as websocket_bench

BENCHMARKS = (slice_bench.main, websocket_bench.main)

for benchmark in BENCHMARKS:
    benchmark()
