"""`darkhorses produce reference`: courses, regions and the entities on cards and results.

Publishes onto the compacted reference.*.v1 topics, keyed by id: regions and courses, then every
horse, jockey, trainer, owner, sire, dam and damsire on today's and tomorrow's pro racecards and
yesterday's results. Horses not seen before (no `pedigree_checked` record on reference.horses.v1)
are enriched from `/horses/{id}/pro` (rate-limited; a failure is counted and the card record
still goes out).
"""

import logging
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from producers.racing_api import normalise as n
from producers.racing_api.client import RacingApiClient
from producers.racing_api.errors import AuthError, RacingApiError
from producers.racing_api.models import (
    CardRace,
    CardRunner,
    Course,
    HorsePro,
    Region,
    ResultRace,
    ResultRunner,
)  # fmt: skip
from producers.racing_api.report import ParseReport
from producers.racing_api.settings import RacingApiProducerSettings
from producers.racing_api.sink import EventSink
from schemas import reference as ref
from schemas.base import EventSource, decode
from schemas.topics import (
    REF_COURSES,
    REF_DAMS,
    REF_DAMSIRES,
    REF_HORSES,
    REF_JOCKEYS,
    REF_OWNERS,
    REF_REGIONS,
    REF_SIRES,
    REF_TRAINERS,
    Topic,
)  # fmt: skip

log = logging.getLogger(__name__)
T = TypeVar("T")
D = TypeVar("D")
_KIND_TOPIC = {
    ref.ParticipantKind.JOCKEY: REF_JOCKEYS,
    ref.ParticipantKind.TRAINER: REF_TRAINERS,
    ref.ParticipantKind.OWNER: REF_OWNERS,
    ref.ParticipantKind.SIRE: REF_SIRES,
    ref.ParticipantKind.DAM: REF_DAMS,
    ref.ParticipantKind.DAMSIRE: REF_DAMSIRES,
}
# What a reference run can publish, refreshed on cadences of their own (darkhorses/jobs.py):
# regions and courses rarely change; the horses and people on cards and results every day.
REFERENCE_PARTS = frozenset({"regions", "courses", "entities"})


@dataclass
class Entities:
    """Entities collected from documents, one record per id (the richest seen wins)."""

    horses: dict[str, ref.Horse] = field(default_factory=dict)
    participants: dict[tuple[ref.ParticipantKind, str], ref.Participant] = field(
        default_factory=dict
    )

    def person(
        self,
        kind: ref.ParticipantKind,
        id_: str | None,
        name: str | None,
        now: datetime,
        **extra: str | None,
    ) -> None:
        if not id_ or (kind, id_) in self.participants:
            return
        self.participants[(kind, id_)] = ref.Participant(
            source=EventSource.RACING_API, source_time=now, id=id_, kind=kind,
            name=name or "", **{k: v or None for k, v in extra.items()},
        )  # fmt: skip

    def from_card_runner(self, runner: CardRunner, now: datetime) -> None:
        self.horses.setdefault(
            runner.horse_id,
            ref.Horse(
                source=EventSource.RACING_API, source_time=now, id=runner.horse_id,
                name=runner.horse, dob=runner.dob or None, sex=runner.sex or None,
                sex_code=runner.sex_code or None, colour=runner.colour or None,
                region=runner.region or None, breeder=runner.breeder or None,
                sire_id=runner.sire_id or None, sire=runner.sire or None,
                dam_id=runner.dam_id or None, dam=runner.dam or None,
                damsire_id=runner.damsire_id or None, damsire=runner.damsire or None,
            ),
        )  # fmt: skip
        kinds = ref.ParticipantKind
        self.person(kinds.JOCKEY, runner.jockey_id, runner.jockey, now)
        self.person(
            kinds.TRAINER, runner.trainer_id, runner.trainer, now,
            location=runner.trainer_location,
        )  # fmt: skip
        self.person(kinds.OWNER, runner.owner_id, runner.owner, now)
        self.person(kinds.SIRE, runner.sire_id, runner.sire, now, region=runner.sire_region)
        self.person(kinds.DAM, runner.dam_id, runner.dam, now, region=runner.dam_region)
        self.person(
            kinds.DAMSIRE, runner.damsire_id, runner.damsire, now, region=runner.damsire_region
        )

    def from_result_runner(self, runner: ResultRunner, now: datetime) -> None:
        self.horses.setdefault(
            runner.horse_id,
            ref.Horse(
                source=EventSource.RACING_API, source_time=now, id=runner.horse_id,
                name=runner.horse, sex_code=runner.sex or None,
                sire_id=runner.sire_id or None, sire=runner.sire or None,
                dam_id=runner.dam_id or None, dam=runner.dam or None,
                damsire_id=runner.damsire_id or None, damsire=runner.damsire or None,
            ),
        )  # fmt: skip
        kinds = ref.ParticipantKind
        self.person(kinds.JOCKEY, runner.jockey_id, runner.jockey, now)
        self.person(kinds.TRAINER, runner.trainer_id, runner.trainer, now)
        self.person(kinds.OWNER, runner.owner_id, runner.owner, now)
        self.person(kinds.SIRE, runner.sire_id, runner.sire, now)
        self.person(kinds.DAM, runner.dam_id, runner.dam, now)
        self.person(kinds.DAMSIRE, runner.damsire_id, runner.damsire, now)


def collect(
    cards: Iterable[object], results: Iterable[object], now: datetime, report: ParseReport
) -> Entities:
    """Every entity on raw racecard and result documents; bad parts are counted and skipped."""
    entities = Entities()
    for raw in cards:
        try:
            card = CardRace.model_validate(raw)
        except ValidationError as error:
            report.reject("race", "reference", error)
            continue
        for item in card.runners:
            try:
                entities.from_card_runner(CardRunner.model_validate(item), now)
            except ValidationError as error:
                report.reject("runner", card.race_id, error)
    for raw in results:
        try:
            result = ResultRace.model_validate(raw)
        except ValidationError as error:
            report.reject("result", "reference", error)
            continue
        for item in result.runners:
            try:
                entities.from_result_runner(ResultRunner.model_validate(item), now)
            except ValidationError as error:
                report.reject("result runner", result.race_id, error)
    return entities


PEDIGREE_FIELDS = ("dob", "sex", "sex_code", "colour", "breeder", "sire_id", "sire", "dam_id",
                   "dam", "damsire_id", "damsire")  # fmt: skip


def with_pedigree(horse: ref.Horse, pro: HorsePro, now: datetime) -> ref.Horse:
    updates: dict[str, object] = {"pedigree_checked": True, "source_time": now}
    for name in PEDIGREE_FIELDS:
        value = getattr(pro, name)
        if value:
            updates[name] = value
    if pro.name:
        updates["name"] = pro.name
    return ref.Horse.model_validate({**horse.model_dump(), **updates})


def merged(stored: ref.Horse, seen: ref.Horse) -> ref.Horse:
    """The stored (enriched) record kept, with the new sighting filling its gaps.

    Pedigree fields come from `/horses/{id}/pro` and stay as stored; the card updates the rest
    (a name or region can change) and fills any pedigree field still empty.
    """
    record = stored.model_dump(exclude={"event_id", "ingest_time"})
    for name, value in seen.model_dump(
        exclude_none=True, exclude={"event_id", "ingest_time"}
    ).items():
        if name == "pedigree_checked" or (name in PEDIGREE_FIELDS and record.get(name)):
            continue
        record[name] = value
    return ref.Horse.model_validate(record)


async def known_pedigrees(bootstrap: str) -> dict[str, ref.Horse]:
    """Horses already enriched, read from the compacted reference.horses.v1 topic (latest wins)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest",
    )  # fmt: skip
    known: dict[str, ref.Horse] = {}
    # Assign the registry's partitions directly: an unsubscribed consumer has no metadata yet.
    assigned = [TopicPartition(REF_HORSES.name, p) for p in range(REF_HORSES.partitions)]
    await consumer.start()
    try:
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    if record.value is None or record.key is None:
                        continue
                    try:
                        horse = decode(ref.Horse, record.value)
                    except (ValidationError, orjson.JSONDecodeError) as error:
                        log.warning("reference.horses.v1 offset %d: %s", record.offset, error)
                        continue
                    if horse.pedigree_checked:
                        known[horse.id] = horse
    finally:
        await consumer.stop()
    return known


class ReferenceProducer:
    def __init__(
        self, client: RacingApiClient, sink: EventSink, settings: RacingApiProducerSettings
    ) -> None:
        self._client = client
        self._sink = sink
        self._settings = settings
        self.report = ParseReport()
        self.failures = 0
        self.published: dict[str, int] = {}

    async def run(
        self,
        today: date,
        known_horses: dict[str, ref.Horse],
        parts: frozenset[str] = REFERENCE_PARTS,
    ) -> dict[str, int]:
        """Publish `parts` (default all) once; returns events published per topic.

        Horses in `known_horses` were enriched before: their stored pedigree is kept (and
        updated with what the card says) instead of being fetched again.
        """
        now = n.now_utc()
        regions = self._settings.region_codes
        if "regions" in parts:
            await self._regions(now)
        if "courses" in parts:
            await self._courses(regions, now)
        if "entities" in parts:
            await self._entities(today, regions, now, known_horses)
        await self._sink.flush()
        return self.published

    async def _entities(
        self, today: date, regions: list[str], now: datetime, known_horses: dict[str, ref.Horse]
    ) -> None:
        cards: list[object] = []
        for day in (today, today + timedelta(days=1)):
            cards += await self._guarded(self._client.racecards_pro(day, regions), [])
        yesterday = today - timedelta(days=1)
        results: list[object] = await self._guarded(
            self._client.results(yesterday, yesterday, regions), []
        )
        entities = collect(cards, results, now, self.report)
        for horse in entities.horses.values():
            stored = known_horses.get(horse.id)
            if stored is not None:
                horse = merged(stored, horse)
            else:
                pro = await self._guarded(self._client.horse_pro(horse.id), None)
                if pro is not None:
                    try:
                        horse = with_pedigree(horse, HorsePro.model_validate(pro), now)
                    except ValidationError as error:
                        self.report.reject("horse pedigree", horse.id, error)
            await self._publish(REF_HORSES, horse)
        for (kind, _), person in sorted(entities.participants.items()):
            await self._publish(_KIND_TOPIC[kind], person)

    async def _regions(self, now: datetime) -> None:
        for raw in await self._guarded(self._client.regions(), []):
            try:
                region = Region.model_validate(raw)
            except ValidationError as error:
                self.report.reject("region", "regions", error)
                continue
            await self._publish(
                REF_REGIONS,
                ref.Region(
                    source=EventSource.RACING_API, source_time=now,
                    id=region.region_code.lower(), name=region.region,
                ),
            )  # fmt: skip

    async def _courses(self, regions: list[str], now: datetime) -> None:
        for raw in await self._guarded(self._client.courses(regions), []):
            try:
                course = Course.model_validate(raw)
            except ValidationError as error:
                self.report.reject("course", "courses", error)
                continue
            await self._publish(
                REF_COURSES,
                ref.Course(
                    source=EventSource.RACING_API, source_time=now, id=course.id,
                    name=course.course, region_code=(course.region_code or "").lower() or None,
                    region=course.region or None,
                ),
            )  # fmt: skip

    async def _guarded(self, call: Awaitable[T], default: D) -> T | D:
        try:
            return await call
        except AuthError:
            raise
        except RacingApiError as error:
            self.failures += 1
            log.warning("reference: %s", error)
            return default

    async def _publish(
        self, topic: Topic, event: ref.Horse | ref.Participant | ref.Course | ref.Region
    ) -> None:
        await self._sink.publish(topic, event)
        self.published[topic.name] = self.published.get(topic.name, 0) + 1
