"""The live hub: one Kafka consumer per API process, books per race, fan-out to every session.

Start-up: the hub assigns itself every partition of racing.odds.live.v1, racing.market.state.v1
and racing.racecards.v1 (no consumer group: each process reads everything), reads from the
beginning of retention (or from `bootstrap_hours` back, via offsets for times) up to the end
offsets it saw at start, and only then reports ready. It also reads the compacted
racing.analytics.race.v1 from its beginning (one record per race: O(races)) and keeps tailing
it: the websocket's analytics are the worker's, relayed (api/live/views.py). From there each
record is validated once, applied to its race's book, rendered once per distinct view and
offered to every subscription that matches; a resume token (positions + epoch) is made once
per record that anyone receives.

With keys required, every open connection is bound to its API key: every `recheck_s` of its
credentials (the API key cache window) the hub asks the key store which keys of open
connections are still active, and closes the others with 4001.
"""

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from api.live.book import BookStore, RaceBook
from api.live.catchup import catch_up, replay
from api.live.credentials import StreamCredentials
from api.live.delivery import Delivery
from api.live.errors import CloseCode, ErrorCode, LiveError, TokenError
from api.live.outbox import Outbox
from api.live.session import Session
from api.live.settings import LiveSettings
from api.live.subscription import Subscription
from api.live.tokens import ResumePoint, Signer, decode_resume, encode_resume
from api.live.views import (
    Rendered,
    View,
    relay_analytics,
    render_delta,
    render_market,
    render_snapshot,
)
from schemas.analytics import RaceAnalytics
from schemas.market import MarketState
from schemas.odds import OddsSnapshot
from schemas.racecards import Racecard
from schemas.topics import ANALYTICS_RACES, MARKET_STATE, ODDS_LIVE, RACECARDS

log = logging.getLogger(__name__)


@dataclass(eq=False)
class RawListener:
    """A client of the legacy raw feed (/v1/stream/odds): its races, queue and API key."""

    races: frozenset[str] | None
    outbox: Outbox
    key_id: str | None = None
    revoked: bool = False

    def revoke(self) -> None:
        self.revoked = True
        self.outbox.ready.set()  # wake its sender, which closes with 4001


class LiveHub:
    def __init__(
        self,
        bootstrap_servers: str,
        settings: LiveSettings,
        credentials: StreamCredentials | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.settings = settings
        self.credentials = credentials or StreamCredentials()
        self.signer = Signer(settings.secret.get_secret_value().encode())
        self.store = BookStore()
        self.ready = asyncio.Event()
        self.delivery = Delivery(settings.coalesce_ms)
        self.sessions: set[Session] = set()
        self.raw_listeners: set[RawListener] = set()
        self.partitions: list[TopicPartition] = []  # odds then market: the token's layout
        self.positions: list[int] = []
        self.start_offsets: list[int] = []
        self.counters: Counter[str] = Counter()
        self._by_race: dict[str, set[Subscription]] = {}  # every sub naming the race
        self._queued: dict[str, set[Subscription]] = {}  # those not in a lane (delivery.py)
        self._wide: set[Subscription] = set()
        self._token: str | None = None
        self.history_slots = asyncio.Semaphore(settings.history_readers)
        self.history_busy = 0  # slots held (reported by /v1/stream/status)
        self.replays: Counter[str] = Counter()  # running replays per identity (key or address)
        self._ids = itertools.count(1)
        self._prefix = f"{socket.gethostname()}-{os.getpid()}"
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["LiveHub"]:
        tasks = [
            asyncio.create_task(self._consume(), name="live-hub"),
            asyncio.create_task(self._heartbeats(), name="live-heartbeats"),
            asyncio.create_task(self.delivery.run(), name="live-delivery"),
        ]
        if not self.credentials.open_mode:
            tasks.append(asyncio.create_task(self._revocations(), name="live-revocations"))
        try:
            yield self
        finally:
            for task in [*tasks, *self._tasks]:
                task.cancel()
            for task in [*tasks, *self._tasks]:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def connection_id(self) -> str:
        return f"{self._prefix}-{next(self._ids)}"

    async def announce_shutdown(self, grace_s: float) -> None:
        """Before a planned stop: tell every client to reconnect (with its tokens), then close."""
        for session in list(self.sessions):
            tokens = session.tokens()
            frame = {"type": "reconnect", "reason": "shutdown", "close_code": 1012,
                     "retry_after_ms": 500, "tokens": tokens}  # fmt: skip
            session.send_frame(frame, tokens)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(s.outbox.entries for s in self.sessions):  # noqa: ASYNC110 (polls many outboxes until a deadline)
            await asyncio.sleep(0.05)
        for session in list(self.sessions):
            session.request_close(CloseCode.SERVICE_RESTART, "shutdown", notice=False)
        closing = [s.closed.wait() for s in self.sessions]
        if closing:
            await asyncio.wait([asyncio.ensure_future(c) for c in closing], timeout=grace_s)

    # -- tokens ---------------------------------------------------------------------------------

    def token(self) -> str:
        if self._token is None:
            self._token = encode_resume(self.signer, self.settings.epoch, self.positions)
        return self._token

    def token_at(self, offsets: list[int]) -> str:
        return encode_resume(self.signer, self.settings.epoch, offsets)

    def resume_point(self, token: str) -> tuple[ResumePoint | None, str]:
        """The point to resume from, or None and the reason a snapshot is needed instead."""
        try:
            point = decode_resume(self.signer, token)
        except TokenError:
            return None, "invalid_token"
        if point.epoch != self.settings.epoch or len(point.offsets) != len(self.positions):
            return None, "epoch_changed"
        if any(o < s for o, s in zip(point.offsets, self.start_offsets, strict=True)):
            return None, "resume_window_exceeded"
        return point, "resume"

    # -- subscriptions ----------------------------------------------------------------------------

    def check_replay_quota(self, identity: str) -> None:
        limit = self.settings.max_replays_per_key
        if self.replays[identity] >= limit:
            raise LiveError(f"at most {limit} replays at a time per API key; wait for one to end",
                            code=ErrorCode.TOO_MANY_REPLAYS, retry_after_ms=5_000)  # fmt: skip

    def attach(self, sub: Subscription) -> None:
        request = sub.request
        if request.replay is not None:
            sub.mode = "replay"
            sub.replay_quota = sub.session.identity
            self.replays[sub.replay_quota] += 1
            sub.history = self._spawn(replay(self, sub))
            # The replay ends its quota itself; this is for a task cancelled before it first
            # ran, which never enters its body.
            sub.history.add_done_callback(lambda _: self.end_replay(sub))
            return
        reason = "subscribe"
        if request.resume_token is not None:
            point, reason = self.resume_point(request.resume_token)
            if point is not None:
                sub.mode = "catching_up"
                sub.skip_below = point.offsets
                sub.last_token = request.resume_token
                self._register(sub)
                sub.history = self._spawn(catch_up(self, sub, point, list(self.positions)))
                return
            self.counters[f"resume_{reason}"] += 1
        self._register(sub)
        self.snapshot_all(sub, reason)

    def detach(self, sub: Subscription) -> None:
        self._wide.discard(sub)
        for race_id in sub.request.filter.races or ():
            for index in (self._by_race, self._queued):
                subs = index.get(race_id)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del index[race_id]
            if sub.laned:
                self.delivery.leave(sub, race_id)

    def resync(self, sub: Subscription, race_id: str) -> None:
        book = self.store.races.get(race_id)
        if book is None or not sub.matches(book):
            raise LiveError(f"race {race_id!r} is not in subscription {sub.sub_id!r}",
                            code=ErrorCode.UNKNOWN_RACE)  # fmt: skip
        if sub.mode != "live":
            raise LiveError("subscription is catching up or replaying; resync after it",
                            code=ErrorCode.HISTORY_UNAVAILABLE, retry_after_ms=1_000)  # fmt: skip
        sub.held.pop((race_id, "delta"), None)
        self._snapshot(sub, book, "resync")

    def _register(self, sub: Subscription) -> None:
        request = sub.request
        if request.filter.races is None:
            self._wide.add(sub)
            return
        # A lane serves it when nothing about it is per-subscriber: live from now, no card-based
        # filter to re-check, no conflation window, written directly (api/live/delivery.py).
        sub.laned = (
            sub.session.raw is not None
            and sub.mode == "live"
            and not sub.skip_below
            and not request.conflate_ms
            and not request.filter.needs_card
        )
        for race_id in request.filter.races:
            self._by_race.setdefault(race_id, set()).add(sub)
            if sub.laned:
                self.delivery.join(sub, race_id)
            else:
                self._queued.setdefault(race_id, set()).add(sub)

    def snapshot_all(self, sub: Subscription, reason: str) -> None:
        sub.last_token = self.token()
        for book in list(self.store.races.values()):
            if sub.matches(book):
                self._snapshot(sub, book, reason)

    def _snapshot(self, sub: Subscription, book: RaceBook, reason: str) -> None:
        sub.queue("snapshot", book.race_id, render_snapshot(book, sub.view, reason, self.token()))

    def _interested(self, book: RaceBook) -> list[Subscription]:
        subs = [s for s in self._by_race.get(book.race_id, ()) if s.matches(book)]
        subs.extend(s for s in self._wide if s.matches(book))
        return subs

    def end_replay(self, sub: Subscription) -> None:
        """Give back the replay's place in its key's quota (once, however it ended)."""
        identity, sub.replay_quota = sub.replay_quota, None
        if identity is not None:
            self.replays[identity] -= 1
            if self.replays[identity] <= 0:
                del self.replays[identity]

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- consuming ------------------------------------------------------------------------------

    async def _consume(self) -> None:
        while True:
            try:
                await self._consume_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live hub consumer failed; restarting in 1s")
                await asyncio.sleep(1)

    async def _consume_once(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=250,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        try:
            await self._assign(consumer)
            ends = await consumer.end_offsets(consumer.assignment())
            while any(await self._behind(consumer, ends)):
                self._apply_batch(await consumer.getmany(timeout_ms=200, max_records=20_000))
            self.ready.set()
            log.info("live hub ready: %d races from %d partitions", len(self.store.races),
                     len(self.partitions))  # fmt: skip
            while True:
                self._apply_batch(await consumer.getmany(timeout_ms=500, max_records=5_000))
        finally:
            self.ready.clear()
            await consumer.stop()

    async def _assign(self, consumer: AIOKafkaConsumer) -> None:
        # The consumer has no public call returning partitions of unassigned topics.
        cluster = await consumer._client.fetch_all_metadata()
        parts: dict[str, list[TopicPartition]] = {}
        for topic in (ODDS_LIVE.name, MARKET_STATE.name, RACECARDS.name, ANALYTICS_RACES.name):
            ids = cluster.partitions_for_topic(topic)
            if not ids:
                raise LiveError(f"topic {topic} does not exist", retry_after_ms=1_000)
            parts[topic] = [TopicPartition(topic, p) for p in sorted(ids)]
        layout = parts[ODDS_LIVE.name] + parts[MARKET_STATE.name]
        consumer.assign(layout + parts[RACECARDS.name] + parts[ANALYTICS_RACES.name])
        if self.partitions and self.partitions != layout:
            raise LiveError("partition layout changed; restart the API with a new epoch")
        # Compacted, keyed by race: read whole, they cost the races, not the retention.
        await consumer.seek_to_beginning(*parts[RACECARDS.name], *parts[ANALYTICS_RACES.name])
        if self.partitions:  # a consumer restart: continue exactly where the books are
            for tp, position in zip(self.partitions, self.positions, strict=True):
                consumer.seek(tp, position)
            return
        if self.settings.bootstrap_hours is None:
            await consumer.seek_to_beginning(*layout)
        else:
            since = datetime.now(UTC) - timedelta(hours=self.settings.bootstrap_hours)
            found = await consumer.offsets_for_times(
                {tp: int(since.timestamp() * 1000) for tp in layout}
            )
            ends = await consumer.end_offsets(layout)
            for tp in layout:
                consumer.seek(tp, found[tp].offset if found[tp] is not None else ends[tp])
        self.partitions = layout
        self.start_offsets = [await consumer.position(tp) for tp in layout]
        self.positions = list(self.start_offsets)
        self._token = None

    async def _behind(
        self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]
    ) -> list[bool]:
        return [await consumer.position(tp) < end for tp, end in ends.items()]

    def _apply_batch(
        self, batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        index = {tp: i for i, tp in enumerate(self.partitions)}
        now = time.monotonic()
        for tp, records in batches.items():
            i = index.get(tp)
            for record in records:
                if tp.topic == ANALYTICS_RACES.name:
                    self._on_analytics(record.value)
                elif i is None:
                    self._on_card(record.value)
                elif tp.topic == ODDS_LIVE.name:
                    self._on_odds(record, i, now)
                else:
                    self._on_market(record, i)

    def _reject(self, topic: str, error: Exception) -> None:
        self.counters["rejected_events"] += 1
        log.warning("live hub skipped an invalid %s event: %s", topic, str(error).splitlines()[0])

    def _on_odds(self, record: ConsumerRecord[bytes, bytes], i: int, now: float) -> None:
        self.positions[i] = record.offset + 1
        self._token = None
        try:
            event = OddsSnapshot.model_validate_json(record.value or b"")
        except ValidationError as error:
            self._reject(ODDS_LIVE.name, error)
            return
        book, prev = self.store.apply_odds(event, record.offset, now)
        self.counters["odds_events"] += 1
        if self.raw_listeners:
            self._publish_raw(event.race_id, record.value)
        lanes = self.delivery.lanes.get(book.race_id)
        subs = [s for s in self._queued.get(book.race_id, ()) if s.matches(book)]
        subs.extend(s for s in self._wide if s.matches(book))
        if not subs and not lanes:
            return
        token = self.token()
        cache: dict[View, Rendered] = {}
        for lane in lanes.values() if lanes else ():
            rendered = cache.get(lane.view)
            if rendered is None:
                rendered = cache[lane.view] = render_delta(book, event, prev, token, lane.view)
            self.delivery.offer(lane, "delta", rendered)
        for sub in subs:
            rendered = cache.get(sub.view)
            if rendered is None:
                rendered = cache[sub.view] = render_delta(book, event, prev, token, sub.view)
            sub.offer("delta", book.race_id, rendered, i, record.offset)

    def _on_market(self, record: ConsumerRecord[bytes, bytes], i: int) -> None:
        self.positions[i] = record.offset + 1
        self._token = None
        if record.value is None:
            return
        try:
            event = MarketState.model_validate_json(record.value)
        except ValidationError as error:
            self._reject(MARKET_STATE.name, error)
            return
        book = self.store.apply_market(event, time.monotonic())
        subs = [s for s in self._interested(book) if s.wants_market]
        if subs:
            rendered = render_market(book, self.token())
            for sub in subs:
                sub.offer("market", book.race_id, rendered, i, record.offset)

    def _on_analytics(self, payload: bytes | None) -> None:
        """The worker's analytics of a race: relayed by the race's next delta or snapshot."""
        if payload is None:
            return
        try:
            event = RaceAnalytics.model_validate_json(payload)
        except ValidationError as error:
            self._reject(ANALYTICS_RACES.name, error)
            return
        if self.store.apply_analytics(event, relay_analytics(event)) is not None:
            self.counters["analytics_events"] += 1

    def _on_card(self, payload: bytes | None) -> None:
        if payload is None:
            return
        try:
            card = Racecard.model_validate_json(payload)
        except ValidationError as error:
            self._reject(RACECARDS.name, error)
            return
        book = self.store.apply_card(card)
        if not self.ready.is_set():
            return
        candidates = set(self._by_race.get(card.race_id, ())) | self._wide
        for sub in candidates:
            before = sub.matched.pop(card.race_id, None)
            if sub.mode == "live" and sub.matches(book):
                self._snapshot(sub, book, "card_changed" if before else "race_added")

    # -- legacy raw feed (/v1/stream/odds) ----------------------------------------------------

    @contextlib.contextmanager
    def raw_listener(
        self, race_ids: frozenset[str] | None, key_id: str | None
    ) -> Iterator[RawListener]:
        limit = self.settings.queue_limit
        listener = RawListener(race_ids, Outbox(limit, limit), key_id)
        self.raw_listeners.add(listener)
        try:
            yield listener
        finally:
            self.raw_listeners.discard(listener)

    def _publish_raw(self, race_id: str, payload: bytes | None) -> None:
        frame = '{"type":"odds","data":' + (payload or b"").decode() + "}"
        for listener in self.raw_listeners:
            if listener.races is None or race_id in listener.races:
                listener.outbox.put_text(frame)

    # -- revoked keys ---------------------------------------------------------------------------

    async def _revocations(self) -> None:
        while True:
            await asyncio.sleep(self.credentials.recheck_s)
            try:
                await self.close_revoked()
            except Exception:  # the key store is down: keep what is open, try again
                log.warning("could not re-check the API keys of open connections", exc_info=True)

    async def close_revoked(self) -> None:
        """Close (4001) every open connection whose API key is no longer active."""
        bound: dict[Session | RawListener, str] = {}
        connections: list[Session | RawListener] = [*self.sessions, *self.raw_listeners]
        for connection in connections:
            if connection.key_id is not None:
                bound[connection] = connection.key_id
        if not bound:
            return
        active = await self.credentials.active(frozenset(bound.values()), True)
        for connection, key_id in bound.items():
            if key_id not in active:
                connection.revoke()

    # -- heartbeats -----------------------------------------------------------------------------

    def health(self) -> tuple[int | None, dict[str, str]]:
        now = time.monotonic()
        status: dict[str, str] = {}
        for key, seen in self.store.health.items():
            lag_ms = (seen.ingest_time - seen.source_time).total_seconds() * 1000
            if now - seen.seen_at > self.settings.stale_after_s:
                status[key] = "stale"
            elif lag_ms > self.settings.degraded_lag_ms:
                status[key] = "degraded"
            else:
                status[key] = "ok"
        last = self.store.last_source_time
        lag = None if last is None else int((datetime.now(UTC) - last).total_seconds() * 1000)
        return lag, status

    async def _heartbeats(self) -> None:
        next_eviction = time.monotonic() + 60
        while True:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            if now >= next_eviction:
                next_eviction = now + 60
                gone = self.store.evict(now - self.settings.evict_closed_after_s)
                self.counters["evicted_races"] += len(gone)
            due = [s for s in self.sessions if now - s.last_sent >= s.heartbeat_s]
            if not due:
                continue
            lag, status = self.health()
            for session in due:
                session.last_sent = now
                session.heartbeat(lag, status)

    def describe(self) -> dict[str, Any]:
        lag, status = self.health()
        return {
            "ready": self.ready.is_set(),
            "epoch": self.settings.epoch,
            "connections": len(self.sessions),
            "subscriptions": sum(len(s.subs) for s in self.sessions),
            "races": len(self.store.races),
            "lag_ms": lag,
            "status": status,
            "positions": {
                f"{tp.topic}:{tp.partition}": p
                for tp, p in zip(self.partitions, self.positions, strict=True)
            },
            "counters": dict(self.counters),
            "delivery": {
                "passes": self.delivery.passes,
                "messages": self.delivery.messages,
                "encodings": self.delivery.encodings,
                "last_pass_ms": round(self.delivery.pass_s * 1000, 3),
                "direct_sessions": sum(1 for s in self.sessions if s.raw is not None),
            },
            "history": {
                "readers": self.settings.history_readers,
                "busy": self.history_busy,
                "replays": sum(self.replays.values()),
            },
            "busiest_sessions": [
                {
                    "connection_id": s.connection_id,
                    "subscriptions": len(s.subs),
                    "queued_frames": len(s.outbox.entries),
                    "pending_updates": s.outbox.pending_updates,
                    "conflated_updates": s.outbox.conflated_updates,
                }
                for s in sorted(self.sessions, key=lambda s: -s.outbox.pending_updates)[:10]
            ],
        }
