"""`python -m bench`: run every benchmark in turn."""

from bench import api as api_bench
from bench import parse as parse_bench
from bench import simulator as simulator_bench
from bench import slice as slice_bench
from bench import streams as streams_bench
from bench import streams_days as streams_days_bench
from bench import streams_scaling as streams_scaling_bench
from bench import websocket as websocket_bench

BENCHMARKS = (
    slice_bench.main,
    parse_bench.main,
    simulator_bench.main,
    streams_bench.main,
    streams_days_bench.main,
    streams_scaling_bench.main,
    api_bench.main,
    websocket_bench.main,
)

for benchmark in BENCHMARKS:
    benchmark()
