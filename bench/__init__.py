"""Benchmarks (`make bench`): figures printed and written to bench/results/latest.json."""
