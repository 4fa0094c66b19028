"""Rendering a book, or one change to it, for a subscription's view: fields x odds format x books.

Bodies are plain dicts serialised once per view per update (`Rendered`), then shared by every
subscriber with that view; `sub_id` is spliced in front, so no update is serialised per client.

Conflation (a slow client's queue, or a `conflate_ms` window) merges a delta into the one waiting
for the same race in O(size of the new delta): the first merge gives the waiting frame a private
index of its prices and best prices by key, later ones update that index in place, and the JSON
is made only when the frame is finally written. Nothing is rebuilt per event.
"""

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

import orjson

from api.live.book import RaceBook
from api.live.protocol import DataField, OddsFormat, Subscribe
from market.maths import PRIMARY_FAIR
from schemas.analytics import RaceAnalytics
from schemas.market import MarketState
from schemas.odds import OddsSnapshot
from schemas.racecards import Racecard


@dataclass(frozen=True, slots=True)
class View:
    fields: frozenset[DataField]
    format: OddsFormat
    bookmakers: frozenset[str] | None

    @classmethod
    def of(cls, request: Subscribe) -> "View":
        return cls(request.fields, request.format, request.filter.bookmakers)


# The keyed lists of a delta and what identifies one of their entries.
KEYED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("prices", ("horse_id", "bookmaker_id")),
    ("best", ("horse_id",)),
)


@dataclass(slots=True, eq=False)
class Rendered:
    """One frame body: the dict (kept for conflation) and its JSON, made once, when first sent.

    `merged` is set only on a private, conflated copy: its keyed lists live there (by key, in
    first-seen order) and are put back into the body when the JSON is made.
    """

    body: dict[str, Any]
    updates: int = 1
    texts: dict[tuple[str, str], str] | None = None  # subscribers often share sub_ids
    merged: dict[str, dict[tuple[Any, ...], dict[str, Any]]] | None = None
    _json: bytes | None = None

    @property
    def json(self) -> bytes:
        if self._json is None:
            if self.merged is not None:
                for name, index in self.merged.items():
                    self.body[name] = list(index.values())
            self._json = orjson.dumps(self.body)
        return self._json

    def frame(self, kind: str, sub_id: str) -> str:
        if self.texts is None:
            self.texts = {}
        text = self.texts.get((kind, sub_id))
        if text is None:
            head = b'{"type":"' + kind.encode() + b'","sub_id":' + orjson.dumps(sub_id) + b","
            text = self.texts[(kind, sub_id)] = (head + self.json[1:]).decode()
        return text


@lru_cache(maxsize=4096)
def fractional_of(decimal: Decimal) -> str:
    fraction = Fraction(decimal - 1).limit_denominator(200)
    return f"{fraction.numerator}/{fraction.denominator}"


def format_price(decimal: Decimal | None, fractional: str | None, fmt: OddsFormat) -> str | None:
    if decimal is None:
        return None
    if fmt is OddsFormat.DECIMAL:
        return str(decimal)
    if fmt is OddsFormat.FRACTIONAL:
        return fractional or fractional_of(decimal)
    return f"{1 / decimal:.4f}"


def _price(book: RaceBook, horse_id: str, bookmaker_id: str, fmt: OddsFormat) -> dict[str, Any]:
    quote = book.quotes[horse_id][bookmaker_id]
    return {
        "horse_id": horse_id,
        "bookmaker_id": bookmaker_id,
        "price": format_price(quote.decimal, quote.fractional, fmt),
        "source_time": quote.source_time,
        "ingest_time": quote.ingest_time,
    }


def _best(book: RaceBook, horse_id: str, view: View) -> dict[str, Any]:
    quote, who = book.best(horse_id, view.bookmakers)
    if quote is None:
        return {"horse_id": horse_id, "price": None, "bookmaker_ids": []}
    return {
        "horse_id": horse_id,
        "price": format_price(quote.decimal, quote.fractional, view.format),
        "bookmaker_ids": who,
        "source_time": quote.source_time,
        "ingest_time": quote.ingest_time,
    }


def relay_analytics(event: RaceAnalytics) -> dict[str, Any]:
    """The websocket's `analytics` of a race: the worker's numbers from racing.analytics.race.v1,
    relayed as they are (the same floats REST and the stored tables give), made once per
    analytics record. Whole-market figures: a view's bookmaker filter narrows prices and best
    prices, not the market's consensus."""
    return {
        "revision": event.revision,
        "as_of": event.as_of,
        "book_pct": event.best_book_percent,
        "runners": {
            r.horse_id: {
                "best_price": _decimal_text(r.best_price),
                "best_books": list(r.best_books),
                "consensus_price": _decimal_text(r.consensus_price),
                "implied_probability": r.implied_probability,
                "fair_probability": getattr(r, f"fair_{PRIMARY_FAIR.value}"),
                "fair_proportional": r.fair_proportional,
                "fair_power": r.fair_power,
                "fair_shin": r.fair_shin,
                "steamer": r.steamer,
                "drifter": r.drifter,
            }
            for r in event.runners
            if not r.non_runner and r.implied_probability is not None
        },
    }


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def analytics(book: RaceBook, view: View) -> dict[str, Any] | None:
    """The worker's latest analytics of the race (None until the hub has read any)."""
    return book.analytics


def market_body(market: MarketState | None) -> dict[str, Any] | None:
    if market is None:
        return None
    return {
        "status": market.status.value,
        "reason": market.reason,
        "source_time": market.source_time,
        "ingest_time": market.ingest_time,
    }


def card_body(card: Racecard | None) -> dict[str, Any] | None:
    if card is None:
        return None
    return {
        "course_id": card.course_id,
        "course": card.course,
        "region": card.region,
        "off_dt": card.off_dt,
        "race_name": card.race_name,
        "race_type": card.race_type,
        "runners": [
            {
                "horse_id": r.horse_id,
                "horse": r.horse,
                "number": r.number,
                "non_runner": r.non_runner,
            }
            for r in card.runners
        ],
    }


def render_delta(
    book: RaceBook, event: OddsSnapshot, prev_seq: int, token: str | None, view: View
) -> Rendered:
    body: dict[str, Any] = {
        "race_id": book.race_id,
        "seq": book.seq,
        "prev_seq": prev_seq,
        "token": token,
        "conflated": False,
    }
    wanted = view.bookmakers is None or event.bookmaker_id in view.bookmakers
    if DataField.PRICES in view.fields:
        body["prices"] = (
            [_price(book, p.horse_id, event.bookmaker_id, view.format) for p in event.prices]
            if wanted
            else []
        )
    if DataField.BEST in view.fields:
        body["best"] = [_best(book, p.horse_id, view) for p in event.prices] if wanted else []
    if DataField.ANALYTICS in view.fields:
        body["analytics"] = analytics(book, view)
    return Rendered(body)


def render_market(book: RaceBook, token: str | None) -> Rendered:
    return Rendered(
        {
            "race_id": book.race_id,
            "seq": book.seq,
            "token": token,
            "market": market_body(book.market),
        }
    )


def render_snapshot(book: RaceBook, view: View, reason: str, token: str | None) -> Rendered:
    body: dict[str, Any] = {
        "race_id": book.race_id,
        "reason": reason,
        "seq": book.seq,
        "token": token,
        "card": card_body(book.card),
    }
    if DataField.PRICES in view.fields:
        body["prices"] = [
            _price(book, horse_id, bookmaker_id, view.format)
            for horse_id in sorted(book.quotes)
            for bookmaker_id in sorted(book.quotes[horse_id])
            if view.bookmakers is None or bookmaker_id in view.bookmakers
        ]
    if DataField.BEST in view.fields:
        body["best"] = [_best(book, horse_id, view) for horse_id in sorted(book.quotes)]
    if DataField.ANALYTICS in view.fields:
        body["analytics"] = analytics(book, view)
    if DataField.MARKET in view.fields:
        body["market"] = market_body(book.market)
    return Rendered(body)


def merge_deltas(older: Rendered, newer: Rendered) -> Rendered:
    """Conflate two deltas of one race: newest value per key, the older `prev_seq`.

    Returns the merged frame: `older` itself, updated in place, once it is a private conflated
    copy; a shared frame (`merged` unset, other subscribers hold it too) is copied first, once.
    Each merge costs the size of `newer`, whatever has been merged before.

    The merged frame keeps the older resume token: frames queued between the two may still be
    unsent, and a token must never claim more than has been delivered. A client resuming from
    it may see updates again that the merged frame carried; it drops them by `seq`.
    """
    merged = older.merged
    if merged is None:
        merged = {
            name: {tuple(e[k] for k in key): e for e in older.body[name]}
            for name, key in KEYED
            if name in older.body
        }
        older = Rendered(dict(older.body), updates=older.updates, merged=merged)
    body = older.body
    for name, value in newer.body.items():
        if name not in ("prev_seq", "token") and name not in merged:
            body[name] = value
    body["conflated"] = True
    for name, key in KEYED:
        index = merged.get(name)
        if index is not None:
            for entry in newer.body.get(name, ()):
                index[tuple(entry[k] for k in key)] = entry
    older.updates += newer.updates
    older._json = None
    older.texts = None
    return older


def replace_market(older: Rendered, newer: Rendered) -> Rendered:
    """Conflate two market frames: the newest state, the older token (see `merge_deltas`)."""
    return Rendered({**newer.body, "token": older.body.get("token")}, updates=older.updates + 1)
