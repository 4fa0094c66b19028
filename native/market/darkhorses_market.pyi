from typing import Any

def race_analytics(race: Any, params: Any) -> dict[str, Any]:
    """The analytics of a `streams.race_market.RaceMarket` under `streams.race_analytics.
    AnalyticsParams`: `race_analytics_reference`'s dict, to the last bit. Sets `view` on the
    quotes it reads, as the reference does."""
