"""Faust stream processors: market state in tables, sinks into PostgreSQL."""
