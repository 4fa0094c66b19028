"""Entry points of the Racing API producers: each owns its client and publisher lifecycles."""

import asyncio
import signal
from datetime import date

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)  # fmt: skip

from darkhorses.settings import RacingApiSettings
from producers.publisher import EventPublisher
from producers.racing_api.checkpoint import Checkpoint
from producers.racing_api.client import RacingApiClient
from producers.racing_api.historical import DayOutcome, HistoricalProducer
from producers.racing_api.live import LiveProducer, uk_today
from producers.racing_api.normalise import now_utc
from producers.racing_api.reference import REFERENCE_PARTS, ReferenceProducer, known_pedigrees
from producers.racing_api.settings import RacingApiProducerSettings


async def run_live(
    settings: RacingApiProducerSettings, api: RacingApiSettings, stop: asyncio.Event | None = None
) -> int:
    """Poll and publish until `stop` (or `max_cycles`); returns the number of cycles run.

    Without a `stop` event, SIGINT and SIGTERM end the run cleanly: the cycle in flight finishes
    and the publisher flushes, so nothing fetched is lost on `docker stop` or Ctrl-C.
    """
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    async with (
        RacingApiClient(api, settings) as client,
        EventPublisher(settings.kafka_bootstrap_servers) as publisher,
    ):
        producer = LiveProducer(client, publisher, settings)
        await producer.run(stop)
        return producer.cycles


async def run_historical(
    settings: RacingApiProducerSettings,
    api: RacingApiSettings,
    start: date,
    end: date,
    *,
    show_progress: bool = True,
) -> list[DayOutcome]:
    checkpoint = Checkpoint(settings.checkpoint_path, ",".join(settings.region_codes))
    async with (
        RacingApiClient(api, settings) as client,
        EventPublisher(settings.kafka_bootstrap_servers) as publisher,
    ):
        producer = HistoricalProducer(client, publisher, settings, checkpoint)
        pending = producer.pending(start, end)
        progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[races]} races, {task.fields[prices]} prices"),
            TextColumn("[cyan]{task.fields[rate]}"),
            TimeElapsedColumn(), TimeRemainingColumn(), disable=not show_progress,
        )  # fmt: skip
        with progress:
            task = progress.add_task("historical", total=len(pending), races=0, prices=0, rate="-")
            totals = {"races": 0, "prices": 0}

            def advance(outcome: DayOutcome) -> None:
                totals["races"] += outcome.races
                totals["prices"] += outcome.prices
                elapsed = progress.tasks[task].elapsed or 0.0
                rate = f"{totals['prices'] / elapsed:,.0f} prices/s" if elapsed else "-"
                progress.update(
                    task, advance=1, description=f"historical {outcome.day}", rate=rate,
                    races=totals["races"], prices=totals["prices"],
                )  # fmt: skip

            return await producer.run(start, end, on_day=advance)


async def run_reference(
    settings: RacingApiProducerSettings,
    api: RacingApiSettings,
    parts: frozenset[str] = REFERENCE_PARTS,
) -> dict[str, int]:
    known = await known_pedigrees(settings.kafka_bootstrap_servers) if "entities" in parts else {}
    async with (
        RacingApiClient(api, settings) as client,
        EventPublisher(settings.kafka_bootstrap_servers) as publisher,
    ):
        producer = ReferenceProducer(client, publisher, settings)
        return await producer.run(uk_today(now_utc()), known, parts)
