"""Quotes -> `OddsSnapshot` events, and the last-seen price book that keeps only the changes.

A snapshot is one race x one bookmaker at one instant (upstream's `updated`, as UTC), so every
price in it carries its own exact source time.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from producers.racing_api.cards import Quote
from schemas.base import EventSource
from schemas.odds import OddsSnapshot, RunnerPrice

PriceKey = tuple[str, str, str]
PriceValue = tuple[Decimal | None, str | None, int | None, int | None]


def runner_price(quote: Quote) -> RunnerPrice:
    return RunnerPrice(
        horse_id=quote.horse_id,
        decimal=quote.decimal,
        fractional=quote.fractional,
        ew_places=quote.ew_places,
        ew_denom=quote.ew_denom,
    )


def snapshots_of(
    quotes: Iterable[Quote], source: EventSource = EventSource.RACING_API
) -> list[OddsSnapshot]:
    """Group quotes by (race, bookmaker, updated) into snapshots, oldest first per race."""
    groups: dict[tuple[str, str, datetime], list[Quote]] = defaultdict(list)
    for quote in quotes:
        groups[(quote.race_id, quote.bookmaker.id, quote.updated)].append(quote)
    ordered = sorted(groups.items(), key=lambda item: (item[0][0], item[0][2], item[0][1]))
    return [
        OddsSnapshot(
            source=source,
            source_time=updated,
            race_id=race_id,
            bookmaker_id=book_id,
            bookmaker=group[0].bookmaker.name,
            prices=tuple(runner_price(q) for q in group),
        )
        for (race_id, book_id, updated), group in ordered
    ]


def history_snapshots(quotes: Iterable[Quote]) -> list[OddsSnapshot]:
    """The `history[]` ticks of quotes as snapshots at their `changed_at` times."""
    ticks: list[Quote] = []
    for quote in quotes:
        for tick in quote.history:
            ticks.append(
                Quote(
                    race_id=quote.race_id,
                    horse_id=quote.horse_id,
                    bookmaker=quote.bookmaker,
                    decimal=tick.decimal,
                    fractional=tick.fractional,
                    ew_places=quote.ew_places,
                    ew_denom=quote.ew_denom,
                    updated=tick.changed_at,
                )
            )
    return snapshots_of(ticks)


class PriceBook:
    """The last price published per (race, runner, bookmaker).

    Starts empty, so the first cycle after a (re)start publishes a full image: a restart can
    repeat a price but never lose a change.
    """

    def __init__(self) -> None:
        self._last: dict[PriceKey, PriceValue] = {}

    def __len__(self) -> int:
        return len(self._last)

    def changed(self, quotes: Iterable[Quote]) -> list[Quote]:
        """The quotes whose value differs from the last seen, recording them as seen."""
        changes = []
        for quote in quotes:
            key, value = quote.key, quote.value
            if self._last.get(key) != value:
                self._last[key] = value
                changes.append(quote)
        return changes

    def forget_race(self, race_id: str) -> None:
        for key in [k for k in self._last if k[0] == race_id]:
            del self._last[key]
