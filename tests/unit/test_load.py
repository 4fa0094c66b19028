"""Load mode's pre-encoded events must be exactly what the contract accepts."""

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from producers.load import LoadGenerator
from schemas import decode, encode
from schemas.odds import OddsSnapshot

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_generated_events_decode_as_valid_odds_snapshots() -> None:
    generator = LoadGenerator(seed=3, start=START, races=4, bookmakers=24)
    generator.now = b"2026-11-28T12:00:01.250000Z"
    events = generator.events()
    seen_ids = set()
    books: Counter[tuple[str, str]] = Counter()
    moved = 0
    first_prices: dict[tuple[str, str, str], Decimal] = {}
    for _ in range(4 * 24 * 5):
        _, value, prices = next(events)
        snapshot = decode(OddsSnapshot, value)
        assert len(snapshot.prices) == prices
        assert snapshot.event_id not in seen_ids
        seen_ids.add(snapshot.event_id)
        books[snapshot.race_id, snapshot.bookmaker_id] += 1
        # the bytes are what the contract's own encoder writes for that event
        assert encode(snapshot) == value
        for price in snapshot.prices:
            assert price.decimal is not None
            key = (snapshot.race_id, snapshot.bookmaker_id, price.horse_id)
            moved += first_prices.setdefault(key, price.decimal) != price.decimal
    assert len(books) == 4 * 24  # every race x book, round-robin
    assert set(books.values()) == {5}
    assert moved > 100  # prices move between images
