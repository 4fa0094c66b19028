"""Every race's market and every bookmaker's coverage, updated per event, read out per batch.

The race pipeline feeds events in (prices, cards, market states) and stores each changed race's
header with its rows; this class is pure (no I/O), so the golden test can replay a day through
exactly the code the worker runs.

State changes on every event; analytics are computed at most once per race per `interval`
(wall clock) when the caller passes one: at thousands of events per second recomputing a race's
whole market per event would cost more than everything else together. Races changed since their
last analytics stay pending until due (the race pipeline reads them out when events stop too),
and every race restored from PostgreSQL starts pending, so the analytics always converge on the
state.

A worker runs for weeks, so races quiet for `retire_after_us` of event time (behind the newest
event anywhere) leave memory once everything about them is stored: their header, quotes and
analytics stay in PostgreSQL, and a late event for one revives it from there first
(`retired`). Bookmaker coverage counts the races held: the live markets and the recent ones.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from darkhorses_market import PriceRows, apply_event, book_coverage

from market.analytics import AnalyticsParams, race_analytics
from market.clock import US, instant, micros
from schemas.market import MarketState
from schemas.racecards import Racecard
from streams.odds_decode import OddsIn
from streams.partitioning import race_partition
from streams.race_market import RaceMarket, Version


@dataclass
class Readout:
    """What one batch changed: the analytics to publish and write."""

    races: list[dict[str, Any]]
    bookmakers: list[dict[str, Any]]
    changed: list[str] = field(default_factory=list)  # races whose header to store


class MarketBoard:
    def __init__(
        self,
        params: AnalyticsParams,
        retire_after_us: int | None = None,
        partition_of: Callable[[str], int] = race_partition,
    ) -> None:
        self.params = params
        self.partition_of = partition_of  # a race's partition: the unit of its event time
        # `params`' windows in microseconds, read per event: computed once, not per call.
        self.keep_us, self.rate_window_us = params.keep_us, params.rate_window_us
        self.retire_after_us = retire_after_us  # None: races are held for good
        self.races: dict[str, RaceMarket] = {}
        self.retired: set[str] = set()  # races stored, not held: revive before applying
        self.bookmaker_names: dict[str, str] = {}
        self.now = 0  # newest source_time seen anywhere (event time; kept by apply_event)
        # Newest source_time seen per race partition: the event time of bookmaker coverage and
        # retirement, so that they do not depend on which partitions a worker holds.
        self.partition_now: dict[int, int] = {}
        # Bookmaker -> the partitions its last parts covered (an emptied one is read out as zero).
        self.book_partitions: dict[str, set[int]] = {}
        self.changed: set[str] = set()  # races changed since the last read-out
        self.dirty_races: dict[str, None] = {}  # races whose analytics are pending
        self.dirty_books: set[str] = set()
        self.analysed_at: dict[str, float] = {}  # race -> clock of its last analytics
        self.books_analysed_at = float("-inf")
        self.readout_clock = 0.0  # clock of the last budgeted read-out
        # A quiet race the last retirement pass kept because it was still being stored or
        # analysed: the next pass takes it (an idle poll runs one).
        self.retire_deferred = False

    def race(self, race_id: str) -> RaceMarket:
        race = self.races.get(race_id)
        if race is None:
            if race_id in self.retired:
                raise RaceRetired(race_id)
            race = self.races[race_id] = RaceMarket(race_id)
        return race

    # -- events -----------------------------------------------------------------------------

    def apply_odds(self, snapshot: OddsIn, rows: PriceRows | None = None) -> int:
        """Apply one snapshot, its rows into `rows`; returns how many prices it applied (none:
        a duplicate or out of date). Natively: the race's `apply_odds`, then the race is
        `changed` and `dirty_races`, the book `dirty_books` and named, `now` moves on."""
        race = self.race(snapshot.race_id)
        return apply_event(self, race, snapshot, self.keep_us, self.rate_window_us, rows)

    def see(self, race_id: str, latest: int) -> None:
        """`latest` is the newest event time of a race held or stored: its partition's clock
        moves on."""
        partition = self.partition_of(race_id)
        if latest > self.partition_now.get(partition, 0):
            self.partition_now[partition] = latest

    def horizon(self, race_id: str) -> int:
        """Races of this race's partition quiet since before this retire."""
        return self.partition_now.get(self.partition_of(race_id), 0) - (self.retire_after_us or 0)

    def adopt(self, race: RaceMarket) -> None:
        """Take a race restored from PostgreSQL; its analytics are rewritten (they may lag the
        state: a read-out can be deferred past the batch that changed it)."""
        self.races[race.race_id] = race
        self.retired.discard(race.race_id)
        self.now = max(self.now, race.latest)
        self.see(race.race_id, race.latest)
        self.dirty_races[race.race_id] = None
        for book, name in race.book_names.items():
            self.bookmaker_names.setdefault(book, name)
            self.dirty_books.add(book)

    def forget_partitions(self, partitions: set[int]) -> None:
        """Drop the races of `partitions` (another worker owns them now, and reads out their
        bookmaker parts)."""
        held = [*self.races, *self.retired]
        self.forget([r for r in held if self.partition_of(r) in partitions])
        for partition in partitions:
            self.partition_now.pop(partition, None)
        for covered in self.book_partitions.values():
            covered -= partitions

    def forget(self, race_ids: list[str]) -> None:
        """Drop races (their partition moved to another worker)."""
        for race_id in race_ids:
            self.retired.discard(race_id)
            if race_id not in self.races:
                continue
            del self.races[race_id]
            self.changed.discard(race_id)
            self.dirty_races.pop(race_id, None)
            self.analysed_at.pop(race_id, None)

    def apply_card(self, card: Racecard) -> bool:
        race = self.race(card.race_id)
        changed = race.apply_card(
            _version(card.source_time, card.event_id),
            card.off_dt,
            [r.horse_id for r in card.runners],
            {r.horse_id for r in card.runners if r.non_runner},
        )
        self.changed.add(card.race_id)
        self.dirty_races[card.race_id] = None
        return changed

    def apply_status(self, state: MarketState) -> bool:
        race = self.race(state.race_id)
        changed = race.apply_status(_version(state.source_time, state.event_id), state.status)
        self.changed.add(state.race_id)
        self.dirty_races[state.race_id] = None
        return changed

    # -- read-out ---------------------------------------------------------------------------

    def readout(
        self, clock: float | None = None, interval: float = 0.0, share: float | None = None
    ) -> Readout:
        """Races changed since the last read-out (to persist), and the analytics due: all that are
        pending without a `clock`, else those last analysed at least `interval` ago.

        With a `share`, analytics may take at most that share of the wall time since the last
        read-out (the longest-waiting races first, at least one): under a flood of events the
        races' analytics come less often instead of the stream falling behind."""
        if clock is None:
            due = sorted(self.dirty_races)
        else:
            never = float("-inf")
            due = sorted(
                (r for r in self.dirty_races if self.analysed_at.get(r, never) + interval <= clock),
                key=lambda r: (self.analysed_at.get(r, never), r),
            )
        deadline = float("inf")
        if clock is not None and share is not None:
            deadline = time.perf_counter() + share * max(clock - self.readout_clock, 0.0)
            self.readout_clock = clock
        races: list[dict[str, Any]] = []
        for race_id in due:
            if races and time.perf_counter() > deadline:
                break
            del self.dirty_races[race_id]
            race = self.races[race_id]
            races.append(race_analytics(race, self.params))
            if clock is not None:
                self.analysed_at[race_id] = clock
        changed = sorted(self.changed)
        self.changed.clear()
        bookmakers = []
        if clock is None or self.books_analysed_at + interval <= clock:
            self.retire_quiet(set(changed))
            bookmakers = [
                part for b in sorted(self.dirty_books) for part in self.bookmaker_parts(b)
            ]
            self.dirty_books.clear()
            if clock is not None:
                self.books_analysed_at = clock
        return Readout(races, bookmakers, changed)

    def retire_quiet(self, storing: set[str]) -> None:
        """Retire the races quiet for `retire_after_us` whose state and analytics are stored or
        being stored (neither pending nor in `storing`, the headers the caller is about to
        write); their books' coverage changes. A pass scans the races held, once per books
        read-out: cheap beside the coverage it precedes."""
        for race_id, race in self.races.items():
            self.see(race_id, race.latest)
        if self.retire_after_us is None:
            return
        self.retire_deferred = False
        for race_id, race in list(self.races.items()):
            if race.last_activity < self.horizon(race_id):
                if race_id in storing or race_id in self.dirty_races:
                    self.retire_deferred = True
                    continue
                del self.races[race_id]
                self.analysed_at.pop(race_id, None)
                self.retired.add(race_id)
                self.dirty_books.update(race.quotes)

    def bookmaker_parts(self, bookmaker_id: str) -> list[dict[str, Any]]:
        """Coverage and freshness of one bookmaker over the races held, one part per partition
        (`BookmakerPart`), each in its partition's event time: derived from the races alone, so
        that they are recovered with them after a restart and are the same whatever the number
        of workers. A partition that covered the book and no longer does gets an empty part."""
        by_partition: dict[int, list[RaceMarket]] = {}
        for race in self.races.values():
            if bookmaker_id in race.quotes:
                by_partition.setdefault(self.partition_of(race.race_id), []).append(race)
        covered = self.book_partitions.setdefault(bookmaker_id, set())
        emptied, covered_now = covered - by_partition.keys(), set(by_partition)
        self.book_partitions[bookmaker_id] = covered_now
        return [
            self.bookmaker_part(bookmaker_id, partition, by_partition.get(partition, []))
            for partition in sorted(covered_now | emptied)
        ]

    def bookmaker_part(
        self, bookmaker_id: str, partition: int, races_held: list[RaceMarket]
    ) -> dict[str, Any]:
        now = self.partition_now.get(partition, 0)
        cutoff = now - self.rate_window_us
        races = runners = prices = recent = 0
        ages: list[float] = []
        last = 0
        source = "simulator"
        for race in races_held:
            horses = race.quotes[bookmaker_id]
            prices += race.book_applied.get(bookmaker_id, 0)
            updated_since, priced = book_coverage(horses, cutoff)  # natively: 71k quotes a pass
            recent += updated_since
            if not priced:
                continue
            races += 1
            runners += priced
            updated = race.book_updates.get(bookmaker_id, 0)
            if updated > last:
                last, source = updated, race.source
            ages.append((now - updated) / US)
        return {
            "part_id": f"{bookmaker_id}|{partition}",
            "bookmaker_id": bookmaker_id,
            "bookmaker": self.bookmaker_names.get(bookmaker_id, bookmaker_id),
            "partition": partition,
            "as_of": instant(now).isoformat(),
            "source": source,
            "races": races,
            "runners": runners,
            "prices": prices,
            "updates_in_window": recent,
            "ages_s": sorted(ages),
            "last_update": instant(last).isoformat() if last else None,
        }


class RaceRetired(LookupError):
    """An event for a race retired from the board: revive it (from PostgreSQL) first."""

    def __init__(self, race_id: str) -> None:
        super().__init__(f"race {race_id} is retired: revive it before applying its events")
        self.race_id = race_id


def _version(source_time: datetime, event_id: str) -> Version:
    return (micros(source_time), event_id)
