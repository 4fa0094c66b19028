"""The scheduler: runs the producers and the maintenance jobs on their cadences, in-process.

A documented loop rather than host cron or a scheduling library, because the jobs need three
things a trigger library does not give: a daily job catches up the days it missed (its
`watermark` is stored, so a restart knows them), a failed run is retried with backoff and then
reported, and every job's state is written where the API reads it (`scheduled_jobs`, served by
`GET /v1/jobs` and `/metrics`). Time comes from a `Clock`, so tests run days in milliseconds.

Schedules:
- `Daily(at, zone)`: once a day at a wall-clock time in `zone` (Europe/London: BST/GMT aware).
  On the spring-forward day 01:00 does not exist; the job fires at the instant the clocks change
  (01:00 GMT = 02:00 BST). On the autumn day 01:00 happens twice; the job fires at the first.
  Each run is given the day that ended (`day`): the run at 01:00 on the 5th backfills the 4th.
- `Every(seconds)`: again `seconds` after the previous run finished.
- `Continuous(restart_after_s)`: runs until stopped; restarted after a failure or an exit,
  the wait doubling up to `max_restart_after_s` and reset once it has run for an hour.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from prometheus_client import Counter

log = logging.getLogger(__name__)

UK = ZoneInfo("Europe/London")

RUNS = Counter(
    "darkhorses_scheduler_runs_total", "Job runs of this scheduler, by outcome.", ["job", "outcome"]
)


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep_until(self, when: datetime, stop: asyncio.Event) -> None:
        """Return at `when`, or as soon as `stop` is set."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime, stop: asyncio.Event) -> None:
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)


@dataclass(frozen=True)
class Daily:
    at: time
    zone: ZoneInfo = UK

    def fire_on(self, day: date) -> datetime:
        """The instant of `day`'s run (fold=0: the earlier of an ambiguous wall time, and the
        offset before the change for a wall time the clocks skip)."""
        return datetime.combine(day, self.at, tzinfo=self.zone).astimezone(UTC)

    def next_after(self, instant: datetime) -> datetime:
        day = instant.astimezone(self.zone).date() - timedelta(days=1)
        while (fire := self.fire_on(day)) <= instant:
            day += timedelta(days=1)
        return fire

    def last_due_day(self, instant: datetime) -> date:
        """The latest day whose run is due by `instant` (the day before the latest fire)."""
        day = instant.astimezone(self.zone).date()
        while self.fire_on(day) > instant:
            day -= timedelta(days=1)
        return day - timedelta(days=1)

    def describe(self) -> str:
        return f"daily at {self.at:%H:%M} {self.zone.key}"


@dataclass(frozen=True)
class Every:
    seconds: float

    def describe(self) -> str:
        return f"every {self.seconds:g} s"


@dataclass(frozen=True)
class Continuous:
    restart_after_s: float = 5.0
    max_restart_after_s: float = 300.0

    def describe(self) -> str:
        return "continuous"


Schedule = Daily | Every | Continuous


@dataclass(frozen=True)
class JobRun:
    """What a run is given: the day it covers (daily jobs) and the event that ends it."""

    day: date | None
    stop: asyncio.Event


@dataclass(frozen=True)
class Job:
    name: str
    schedule: Schedule
    run: Callable[[JobRun], Awaitable[object]]
    retries: int = 3
    retry_after_s: float = 60.0  # doubles per retry
    catch_up_days: int = 7  # daily jobs: the most missed days run on a start


@dataclass
class JobState:
    name: str
    schedule: str
    state: str = "idle"  # idle, running, retrying, failed
    last_started: datetime | None = None
    last_finished: datetime | None = None
    last_outcome: str | None = None  # ok, failed
    last_error: str | None = None
    last_success: datetime | None = None
    next_run: datetime | None = None
    runs: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    watermark: date | None = None


class JobStore(Protocol):
    async def load(self, name: str) -> JobState | None: ...

    async def save(self, state: JobState) -> None: ...


@dataclass
class MemoryJobStore:
    states: dict[str, JobState] = field(default_factory=dict)
    history: list[JobState] = field(default_factory=list)

    async def load(self, name: str) -> JobState | None:
        found = self.states.get(name)
        return replace(found) if found else None

    async def save(self, state: JobState) -> None:
        self.states[state.name] = replace(state)
        self.history.append(replace(state))


def pending_days(schedule: Daily, watermark: date | None, now: datetime, limit: int) -> list[date]:
    """Days due by `now` and not done, oldest first: those after `watermark`, at most `limit`
    (the newest); only the latest due day when nothing was ever done."""
    last = schedule.last_due_day(now)
    if watermark is None:
        return [last]
    days = [watermark + timedelta(days=n) for n in range(1, (last - watermark).days + 1)]
    return days[-limit:] if limit > 0 else []


class Scheduler:
    def __init__(self, jobs: Sequence[Job], store: JobStore, clock: Clock | None = None) -> None:
        self.jobs = list(jobs)
        self.store = store
        self.clock = clock or SystemClock()
        self.states: dict[str, JobState] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Run every job until `stop` is set."""
        for job in self.jobs:
            stored = await self._load(job.name)
            state = stored or JobState(name=job.name, schedule=job.schedule.describe())
            state.schedule = job.schedule.describe()
            if state.state in ("running", "retrying"):  # the previous process died mid-run
                state.state = "idle"
            self.states[job.name] = state
        async with asyncio.TaskGroup() as group:
            for job in self.jobs:
                group.create_task(self._loop(job, stop), name=f"job {job.name}")

    async def _loop(self, job: Job, stop: asyncio.Event) -> None:
        schedule = job.schedule
        if isinstance(schedule, Daily):
            await self._daily(job, schedule, stop)
        elif isinstance(schedule, Every):
            state = self.states[job.name]
            if state.last_success is not None:  # a restart keeps the cadence
                due = state.last_success + timedelta(seconds=schedule.seconds)
                if due > self.clock.now():
                    await self._wait(job, due, stop)
            while not stop.is_set():
                await self._attempt(job, None, stop)
                if stop.is_set():
                    break
                await self._wait(job, self.clock.now() + timedelta(seconds=schedule.seconds), stop)
        else:
            await self._continuous(job, schedule, stop)

    async def _daily(self, job: Job, schedule: Daily, stop: asyncio.Event) -> None:
        state = self.states[job.name]
        while not stop.is_set():
            for day in pending_days(schedule, state.watermark, self.clock.now(), job.catch_up_days):
                if not await self._attempt(job, day, stop):
                    break  # reported; the next run starts again from this day
                state.watermark = day
                await self._save(state)
            if stop.is_set():
                break
            await self._wait(job, schedule.next_after(self.clock.now()), stop)

    async def _continuous(self, job: Job, schedule: Continuous, stop: asyncio.Event) -> None:
        delay = schedule.restart_after_s
        while not stop.is_set():
            started = self.clock.now()
            ok = await self._attempt(replace(job, retries=0), None, stop)
            if stop.is_set():
                break
            if ok or self.clock.now() - started >= timedelta(hours=1):
                delay = schedule.restart_after_s
            log.warning("job %s ended while running continuously; restarting", job.name)
            await self._wait(job, self.clock.now() + timedelta(seconds=delay), stop)
            delay = min(delay * 2, schedule.max_restart_after_s)

    async def _attempt(self, job: Job, day: date | None, stop: asyncio.Event) -> bool:
        """One run with its retries; True once a try succeeds."""
        state = self.states[job.name]
        for attempt in range(job.retries + 1):
            state.state = "running" if attempt == 0 else "retrying"
            state.last_started = self.clock.now()
            state.next_run = None
            await self._save(state)
            try:
                await job.run(JobRun(day=day, stop=stop))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - a job's failure is recorded, not fatal
                state.runs += 1
                state.failures += 1
                state.consecutive_failures += 1
                state.last_outcome = "failed"
                state.last_error = f"{type(error).__name__}: {error}"[:2000]
                state.last_finished = self.clock.now()
                RUNS.labels(job.name, "failed").inc()
                log.warning(
                    "job %s%s failed (try %d of %d): %s", job.name, f" for {day}" if day else "",
                    attempt + 1, job.retries + 1, state.last_error,
                )  # fmt: skip
                if attempt < job.retries and not stop.is_set():
                    state.state = "retrying"
                    retry_at = self.clock.now() + timedelta(seconds=job.retry_after_s * 2**attempt)
                    await self._wait(job, retry_at, stop)
                    if stop.is_set():
                        break
                    continue
                state.state = "failed"
                await self._save(state)
                return False
            else:
                state.runs += 1
                state.consecutive_failures = 0
                state.last_outcome = "ok"
                state.last_error = None
                state.last_finished = state.last_success = self.clock.now()
                state.state = "idle"
                RUNS.labels(job.name, "ok").inc()
                await self._save(state)
                log.info("job %s%s done", job.name, f" for {day}" if day else "")
                return True
        state.state = "idle" if state.last_outcome == "ok" else "failed"
        await self._save(state)
        return False

    async def _wait(self, job: Job, until: datetime, stop: asyncio.Event) -> None:
        state = self.states[job.name]
        state.next_run = until
        await self._save(state)
        await self.clock.sleep_until(until, stop)

    async def _load(self, name: str) -> JobState | None:
        try:
            return await self.store.load(name)
        except Exception as error:  # noqa: BLE001 - a missing state only costs a catch-up
            log.warning("job %s: could not load its state (%s)", name, error)
            return None

    async def _save(self, state: JobState) -> None:
        try:
            await self.store.save(state)
        except Exception as error:  # noqa: BLE001 - the jobs go on; the state is written later
            log.warning("job %s: could not store its state (%s)", state.name, error)
