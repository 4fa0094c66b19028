"""The scheduler on a fake clock: days of schedule run in milliseconds."""

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pytest

from darkhorses.jobs import SchedulerSettings
from darkhorses.scheduler import (
    UK,
    Continuous,
    Daily,
    Every,
    Job,
    JobRun,
    JobState,
    MemoryJobStore,
    Scheduler,
    pending_days,
)  # fmt: skip

AT_ONE_UK = Daily(time(1, 0), UK)


@dataclass
class FakeClock:
    """Time moves only when the scheduler sleeps; past `end` the scheduler is stopped."""

    current: datetime
    end: datetime
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def now(self) -> datetime:
        return self.current

    async def sleep_until(self, when: datetime, stop: asyncio.Event) -> None:
        await asyncio.sleep(0)
        if when > self.end:
            self.current = self.end
            self.stop.set()
            return
        self.current = max(self.current, when)


@dataclass
class Recorder:
    clock: FakeClock
    fail_times: int = 0
    runs: list[tuple[datetime, date | None]] = field(default_factory=list)

    async def __call__(self, run: JobRun) -> None:
        self.runs.append((self.clock.now(), run.day))
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("upstream said 503")


async def run_until_end(scheduler: Scheduler, clock: FakeClock) -> None:
    await asyncio.wait_for(scheduler.run(clock.stop), timeout=10)


def uk(moment: datetime) -> str:
    return moment.astimezone(UK).strftime("%Y-%m-%d %H:%M %Z")


@pytest.mark.parametrize(
    ("after", "fires"),
    [
        # Spring forward on Sunday 29 March 2026: 01:00 does not exist; the run is at the change.
        (
            datetime(2026, 3, 27, 12, 0, tzinfo=UTC),
            ["2026-03-28 01:00 GMT", "2026-03-29 02:00 BST", "2026-03-30 01:00 BST"],
        ),
        # Fall back on Sunday 25 October 2026: 01:00 happens twice; the run is at the first.
        (
            datetime(2026, 10, 23, 12, 0, tzinfo=UTC),
            ["2026-10-24 01:00 BST", "2026-10-25 01:00 BST", "2026-10-26 01:00 GMT"],
        ),
    ],
)
def test_daily_fires_at_one_uk_on_both_sides_of_a_clock_change(
    after: datetime, fires: list[str]
) -> None:
    seen = []
    moment = after
    for _ in fires:
        moment = AT_ONE_UK.next_after(moment)
        seen.append(uk(moment))
    assert seen == fires
    # once a day, never twice on the long day nor skipped on the short one
    assert AT_ONE_UK.fire_on(date(2026, 10, 25)) == datetime(2026, 10, 25, 0, 0, tzinfo=UTC)
    assert AT_ONE_UK.fire_on(date(2026, 3, 29)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


async def test_scheduled_daily_job_runs_yesterday_at_one_uk_through_bst_changes() -> None:
    start = datetime(2026, 3, 26, 12, 0, tzinfo=UTC)
    clock = FakeClock(start, end=datetime(2026, 3, 31, 12, 0, tzinfo=UTC))
    store = MemoryJobStore({"historical": JobState("historical", "", watermark=date(2026, 3, 25))})
    job = Recorder(clock)
    await run_until_end(Scheduler([Job("historical", AT_ONE_UK, job)], store, clock), clock)
    assert [(uk(at), day) for at, day in job.runs] == [
        ("2026-03-27 01:00 GMT", date(2026, 3, 26)),
        ("2026-03-28 01:00 GMT", date(2026, 3, 27)),
        ("2026-03-29 02:00 BST", date(2026, 3, 28)),  # the clocks went forward at 01:00 GMT
        ("2026-03-30 01:00 BST", date(2026, 3, 29)),
        ("2026-03-31 01:00 BST", date(2026, 3, 30)),
    ]
    state = store.states["historical"]
    assert state.watermark == date(2026, 3, 30)
    assert state.next_run == datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
    assert (state.last_outcome, state.runs, state.failures) == ("ok", 5, 0)


async def test_a_restart_catches_up_the_days_it_missed() -> None:
    # Last ran for 24 October (at 01:00 on the 25th), then stopped for two days over the change.
    store = MemoryJobStore({"historical": JobState("historical", "", watermark=date(2026, 10, 24))})
    restart = datetime(2026, 10, 27, 9, 30, tzinfo=UTC)
    clock = FakeClock(restart, end=datetime(2026, 10, 28, 12, 0, tzinfo=UTC))
    job = Recorder(clock)
    await run_until_end(Scheduler([Job("historical", AT_ONE_UK, job)], store, clock), clock)
    assert job.runs == [
        (restart, date(2026, 10, 25)),  # caught up at once, oldest first
        (restart, date(2026, 10, 26)),
        (datetime(2026, 10, 28, 1, 0, tzinfo=UTC), date(2026, 10, 27)),  # then on schedule
    ]
    assert store.states["historical"].watermark == date(2026, 10, 27)


def test_pending_days_are_bounded_and_start_with_yesterday_on_a_first_run() -> None:
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    assert pending_days(AT_ONE_UK, None, now, limit=7) == [date(2026, 6, 9)]
    assert pending_days(AT_ONE_UK, date(2026, 5, 1), now, limit=3) == [
        date(2026, 6, 7), date(2026, 6, 8), date(2026, 6, 9),
    ]  # fmt: skip
    assert pending_days(AT_ONE_UK, date(2026, 6, 9), now, limit=7) == []
    before_one = datetime(2026, 6, 10, 0, 30, tzinfo=UTC)  # 01:30 BST: today's run is due
    assert pending_days(AT_ONE_UK, None, before_one, limit=7) == [date(2026, 6, 9)]
    before_one = datetime(2026, 6, 9, 23, 30, tzinfo=UTC)  # 00:30 BST on the 10th: not yet
    assert pending_days(AT_ONE_UK, None, before_one, limit=7) == [date(2026, 6, 8)]


async def test_failures_are_retried_with_backoff_and_reported() -> None:
    start = datetime(2026, 6, 10, 0, 59, tzinfo=UTC)
    clock = FakeClock(start, end=datetime(2026, 6, 10, 12, 0, tzinfo=UTC))
    store = MemoryJobStore({"historical": JobState("historical", "", watermark=date(2026, 6, 8))})
    job = Recorder(clock, fail_times=2)
    daily = Job("historical", AT_ONE_UK, job, retries=3, retry_after_s=60)
    await run_until_end(Scheduler([daily], store, clock), clock)
    assert [at - start for at, _ in job.runs] == [
        timedelta(0), timedelta(minutes=1), timedelta(minutes=3),  # 60 s, then 120 s later
    ]  # fmt: skip
    assert {day for _, day in job.runs} == {date(2026, 6, 9)}
    states = [s.state for s in store.history]
    assert "retrying" in states
    final = store.states["historical"]
    assert (final.last_outcome, final.failures, final.consecutive_failures) == ("ok", 2, 0)
    assert final.watermark == date(2026, 6, 9)


async def test_a_day_that_keeps_failing_is_reported_and_tried_again_at_the_next_run() -> None:
    start = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    clock = FakeClock(start, end=datetime(2026, 6, 10, 23, 30, tzinfo=UTC))
    store = MemoryJobStore({"historical": JobState("historical", "", watermark=date(2026, 6, 8))})
    job = Recorder(clock, fail_times=100)
    daily = Job("historical", AT_ONE_UK, job, retries=2, retry_after_s=10)
    await run_until_end(Scheduler([daily], store, clock), clock)
    final = store.states["historical"]
    assert (final.state, final.last_outcome, final.consecutive_failures) == ("failed", "failed", 3)
    assert final.last_error == "RuntimeError: upstream said 503"
    assert final.watermark == date(2026, 6, 8)  # not advanced past the failed day
    assert final.next_run == datetime(2026, 6, 11, 0, 0, tzinfo=UTC)  # 01:00 BST
    # At the next run the same day comes first again.
    clock.end = datetime(2026, 6, 11, 12, 0, tzinfo=UTC)
    clock.stop = asyncio.Event()
    job.fail_times = 0
    await run_until_end(Scheduler([daily], store, clock), clock)
    assert [day for _, day in job.runs[-2:]] == [date(2026, 6, 9), date(2026, 6, 10)]
    assert store.states["historical"].watermark == date(2026, 6, 10)


async def test_every_job_keeps_its_cadence_across_a_restart() -> None:
    start = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    clock = FakeClock(start, end=start + timedelta(days=10))
    last = start - timedelta(days=2)
    store = MemoryJobStore({"courses": JobState("courses", "", last_success=last)})
    job = Recorder(clock)
    await run_until_end(Scheduler([Job("courses", Every(7 * 86400), job)], store, clock), clock)
    assert [at for at, _ in job.runs] == [last + timedelta(days=7)]


async def test_a_continuous_job_is_restarted_when_it_stops_or_fails() -> None:
    start = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    clock = FakeClock(start, end=start + timedelta(seconds=40))
    store = MemoryJobStore()
    job = Recorder(clock, fail_times=3)
    live = Job("live", Continuous(restart_after_s=5, max_restart_after_s=20), job)
    await run_until_end(Scheduler([live], store, clock), clock)
    assert [(at - start).total_seconds() for at, _ in job.runs] == [
        0,
        5,
        15,
        35,
        40,
    ]  # a clean exit: restarted at the first delay
    assert store.states["live"].failures == 3


def test_job_selection_by_group_and_name() -> None:
    assert SchedulerSettings(jobs="maintenance").selected() == ["retention", "statistics"]
    assert SchedulerSettings(jobs="historical, statistics").selected() == [
        "historical", "statistics",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown job 'cron'"):
        SchedulerSettings(jobs="cron").selected()


def test_kafka_keeps_the_price_topics_no_longer_than_the_database() -> None:
    """Reprocessing a topic from its start must not bring back history the retention dropped."""
    from schemas.topics import ODDS_HISTORICAL, ODDS_LIVE

    database_ms = SchedulerSettings().retention_days * 86_400_000
    for topic in (ODDS_LIVE, ODDS_HISTORICAL):
        assert topic.retention_ms is not None
        assert topic.retention_ms <= database_ms, topic.name
