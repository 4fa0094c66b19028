"""The native extension accelerates, it does not gate: switched off (or absent) the core runs
its Python reference, with a warning, and gives the same analytics."""

import logging
import sys

import orjson
import pytest

from market.analytics import race_analytics, race_analytics_reference
from market.native import native
from tests.market_core import market_core
from tests.streams_day import read_day, replay

__all__ = ["market_core"]


def test_the_core_runs_both_implementations(market_core: str) -> None:
    assert (native() is None) == (market_core == "reference")


def test_without_the_extension_the_reference_runs_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("DARKHORSES_MARKET_NATIVE", raising=False)
    monkeypatch.setitem(sys.modules, "darkhorses_market", None)  # import fails
    native.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="market.native"):
            assert native() is None
        assert "not installed" in caplog.text
    finally:
        native.cache_clear()


def test_both_give_the_same_bits_on_the_golden_day(market_core: str) -> None:
    board = replay(read_day())
    for race in list(board.races.values())[:40]:
        for horses in race.quotes.values():
            for quote in horses.values():
                quote.view = None
        assert orjson.dumps(race_analytics(race, board.params)) == orjson.dumps(
            race_analytics_reference(race, board.params)
        )
