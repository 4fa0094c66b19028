"""Run a test against both implementations of the market core (conventions 13): the native
extension and the Python reference (`DARKHORSES_MARKET_NATIVE=0`)."""

from collections.abc import Iterator

import pytest

from market.native import ENV, native


@pytest.fixture(params=["native", "reference"])
def market_core(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The implementation in force for the test; the next test chooses afresh."""
    if request.param == "reference":
        monkeypatch.setenv(ENV, "0")
    else:
        monkeypatch.delenv(ENV, raising=False)
    native.cache_clear()
    yield request.param
    native.cache_clear()
