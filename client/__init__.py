"""A small Python client for the DarkHorses live odds stream (resume tokens, gap detection)."""

from client.live import LiveClient, RaceState, Stats

__all__ = ["LiveClient", "RaceState", "Stats"]
