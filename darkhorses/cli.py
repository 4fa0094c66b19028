"""`darkhorses`: one command-line entry point, a subcommand per runtime and chore."""

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from darkhorses.settings import ConnectionSettings, LocalInfraSettings
from schemas.topics import (
    ALL_TOPICS,
    ANALYTICS_BOOKMAKERS,
    ANALYTICS_RACES,
    FETCH_STATS,
    MARKET_STATE,
    ODDS_HISTORICAL,
    ODDS_LIVE,
    RACE_PARTITIONS,
    RACECARDS,
    REFERENCE_TOPICS,
    RESULTS,
    Topic,
)

# What each producer of live races publishes: prices, cards, market states, results, cycles.
LIVE_TOPICS = (ODDS_LIVE, RACECARDS, MARKET_STATE, RESULTS, FETCH_STATS)

if TYPE_CHECKING:
    from darkhorses.settings import RacingApiSettings
    from producers.racing_api.settings import RacingApiProducerSettings

_T = TypeVar("_T")
T = TypeVar("T")

app = typer.Typer(help="DarkHorses: real-time horse-racing odds.", no_args_is_help=True)
kafka_app = typer.Typer(help="The local Apache Kafka broker (KRaft, from Maven Central jars).")
db_app = typer.Typer(help="PostgreSQL: the local embedded server and migrations.")
topics_app = typer.Typer(help="Kafka topics from the registry in schemas/topics.py.")
schemas_app = typer.Typer(help="The event contract's JSON Schema files.")
produce_app = typer.Typer(help="Producers: publish events onto Kafka.")
apikey_app = typer.Typer(help="API keys: create, list and revoke (stored hashed).")
for sub, name in (
    (kafka_app, "kafka"), (db_app, "db"), (topics_app, "topics"),
    (schemas_app, "schemas"), (produce_app, "produce"), (apikey_app, "apikey"),
):  # fmt: skip
    app.add_typer(sub, name=name, no_args_is_help=True)


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", force=True
    )


def _until_stopped(main: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    """Run `main(stop)`; Ctrl-C or SIGTERM sets `stop`, so it finishes cleanly and reports."""

    async def run() -> T:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        return await main(stop)

    return asyncio.run(run())


# -- infrastructure ---------------------------------------------------------------------------


@kafka_app.command("start")
def kafka_start() -> None:
    """Fetch the jars (once), start the broker in the background and wait until it answers."""
    from darkhorses.infra.kafka import KafkaBroker

    _logging()
    broker = KafkaBroker(LocalInfraSettings())
    broker.start()
    typer.echo(f"Kafka ready on {broker.bootstrap}")


@kafka_app.command("stop")
def kafka_stop() -> None:
    from darkhorses.infra.kafka import KafkaBroker

    _logging()
    KafkaBroker(LocalInfraSettings()).stop()


@db_app.command("start")
def db_start() -> None:
    """Initialise (once) and start the embedded PostgreSQL server in the background."""
    from darkhorses.infra.postgres import PostgresServer

    _logging()
    server = PostgresServer(LocalInfraSettings())
    server.start()
    typer.echo(f"PostgreSQL ready: {server.url}")


@db_app.command("stop")
def db_stop() -> None:
    from darkhorses.infra.postgres import PostgresServer

    _logging()
    PostgresServer(LocalInfraSettings()).stop()


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending sql/ migrations to DATABASE_URL; with DARKHORSES_API_DATABASE_URL set, give
    the API's read-only login role the password in it."""
    from api.settings import ApiSettings
    from darkhorses.migrate import migrate, set_login_password

    _logging()
    settings = ApiSettings()
    applied = asyncio.run(migrate(settings.database_url))
    typer.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    if settings.api_database_url and asyncio.run(
        set_login_password(settings.database_url, settings.api_database_url)
    ):
        typer.echo("set the API role's password from DARKHORSES_API_DATABASE_URL")


@topics_app.command("create")
def topics_create() -> None:
    """Create every registered topic missing on KAFKA_BOOTSTRAP_SERVERS."""
    from darkhorses.infra.kafka import ensure_topics

    _logging()
    asyncio.run(ensure_topics(ConnectionSettings().kafka_bootstrap_servers))


@topics_app.command("migrate")
def topics_migrate(
    workdir: Annotated[
        Path, typer.Option(help="Where the topics are recorded on their way through.")
    ] = Path(".cache/topic-migration"),
) -> None:
    """Give existing topics the registry's partition count: record, recreate, replay (stop the
    producers and workers first; see darkhorses/topic_migration.py)."""
    from darkhorses.topic_migration import migrate_topics
    from schemas.topics import ALL_TOPICS

    _logging()
    settings = ConnectionSettings()
    done = asyncio.run(
        migrate_topics(settings.kafka_bootstrap_servers, settings.database_url, ALL_TOPICS, workdir)
    )
    typer.echo(f"migrated: {', '.join(done)}" if done else "every topic has its partition count")


@schemas_app.command("export")
def schemas_export() -> None:
    """Regenerate schemas/jsonschema/*.json from the event models."""
    from schemas.jsonschema_export import write_schemas

    for path in write_schemas():
        typer.echo(f"wrote {path}")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who the key is for.")],
    rate_limit: Annotated[int, typer.Option(min=1, help="Requests per minute.")] = 600,
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    from darkhorses.apikeys import create_key

    key_id, key = asyncio.run(create_key(ConnectionSettings().database_url, name, rate_limit))
    typer.echo(f"id: {key_id}\nkey: {key}")


@apikey_app.command("list")
def apikey_list() -> None:
    from darkhorses.apikeys import list_keys

    for key in asyncio.run(list_keys(ConnectionSettings().database_url)):
        status = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        typer.echo(f"{key.id}  {key.name}  {key.rate_limit_per_min}/min  {status}")


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[str, typer.Argument(help="The key's id.")]) -> None:
    from darkhorses.apikeys import revoke_key

    if not asyncio.run(revoke_key(ConnectionSettings().database_url, key_id)):
        typer.echo(f"no active key with id {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


# -- runtimes ---------------------------------------------------------------------------------


def _require_topics(*topics: Topic) -> None:
    """Refuse to start unless `topics` exist with the registry's partition counts."""
    from darkhorses.topics import TopicsMismatch, check_topics

    try:
        asyncio.run(check_topics(ConnectionSettings().kafka_bootstrap_servers, topics))
    except TopicsMismatch as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@produce_app.command("simulate")
def produce_simulate(
    seed: Annotated[int | None, typer.Option(help="Random seed (same seed, same market).")] = None,
    compression: Annotated[float | None, typer.Option(help="Simulated seconds per second.")] = None,
    start: Annotated[
        str | None, typer.Option(help="Simulated start, ISO 8601 with offset (default now).")
    ] = None,
    load_rate: Annotated[
        float | None, typer.Option(help="Load mode: target price updates per second.")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(help="Load mode: stop after this many seconds.")
    ] = None,
) -> None:
    """Publish the built-in simulated racing day (no credentials needed), or a load test."""
    from producers.load import run_load
    from producers.settings import SimulatorSettings
    from producers.simulate import run_simulator

    _logging()
    _require_topics(*LIVE_TOPICS)
    options: dict[str, Any] = {
        "seed": seed, "compression": compression, "start": start,
        "load_rate": load_rate, "load_duration_s": duration,
    }  # fmt: skip
    # Options given on the command line override the environment (init kwargs win).
    settings = SimulatorSettings(**{k: v for k, v in options.items() if v is not None})
    if settings.load_rate is not None:
        typer.echo(_until_stopped(lambda stop: run_load(settings, stop)).summary())
    else:
        _until_stopped(lambda stop: run_simulator(settings, stop))


@app.command("record")
def record_topics(
    out: Annotated[Path, typer.Argument(help="JSON-lines file to write.")],
    topic: Annotated[
        list[str] | None, typer.Option(help="Topic to record (repeatable; default: all).")
    ] = None,
    follow: Annotated[bool, typer.Option(help="Keep recording new records until Ctrl-C.")] = False,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
) -> None:
    """Record topics from the beginning to a JSON-lines file (one line per record)."""
    from producers.recording import MissingTopic, record
    from schemas.topics import ALL_TOPICS

    _logging()
    topics = topic or [t.name for t in ALL_TOPICS]
    bootstrap = ConnectionSettings().kafka_bootstrap_servers
    with out.open("wb") as sink:
        try:
            report = _until_stopped(
                lambda stop: record(
                    bootstrap, topics, sink, follow=follow, duration_s=duration, stop=stop
                )
            )
        except MissingTopic as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None
        typer.echo(report.summary())


@app.command("replay")
def replay_recording(
    recording: Annotated[Path, typer.Argument(help="JSON-lines file from `darkhorses record`.")],
    speed: Annotated[
        str, typer.Option(help="Times the recorded pace (e.g. 1, 10), or 'max' for no pacing.")
    ] = "max",
    topic_map: Annotated[
        list[str] | None, typer.Option(help="Send topic FROM to TO instead: FROM=TO (repeatable).")
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option(help="Replay the good lines even if some are bad (they are logged).")
    ] = False,
) -> None:
    """Replay a recording onto the topics, keys and payloads unchanged."""
    from producers.recording import BadRecording
    from producers.replay import replay

    _logging()
    if not recording.is_file():
        typer.echo(f"error: no recording at {recording}", err=True)
        raise typer.Exit(2)
    try:
        pace = None if speed == "max" else float(speed)
        mapping = dict(item.split("=", 1) for item in topic_map or [])
    except ValueError:
        typer.echo("error: --speed takes a number or 'max', --topic-map FROM=TO", err=True)
        raise typer.Exit(2) from None
    bootstrap = ConnectionSettings().kafka_bootstrap_servers
    try:
        report = _until_stopped(
            lambda stop: replay(
                bootstrap, recording, speed=pace, topic_map=mapping, skip_bad=skip_bad, stop=stop
            )
        )
    except BadRecording as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(report.summary())
    if report.bad_lines:
        raise typer.Exit(1)


def _racing_api_settings(
    regions: str | None,
) -> "tuple[RacingApiProducerSettings, RacingApiSettings]":
    from darkhorses.settings import RacingApiSettings
    from producers.racing_api.settings import RacingApiProducerSettings

    settings = RacingApiProducerSettings()
    if regions is not None:
        settings = settings.model_copy(update={"regions": regions})
    return settings, RacingApiSettings()


def _run_racing_api(coroutine: Coroutine[Any, Any, _T]) -> _T | None:
    """Run a Racing API producer; its errors end the command with a clear message, no trace."""
    from producers.racing_api.errors import RacingApiError

    try:
        return asyncio.run(coroutine)
    except KeyboardInterrupt:
        return None
    except RacingApiError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@produce_app.command("live")
def produce_live(
    regions: Annotated[str | None, typer.Option(help="Region codes, e.g. gb,ire.")] = None,
) -> None:
    """Poll today's and tomorrow's pro racecards and publish every price change."""
    from producers.racing_api.run import run_live

    _logging()
    _require_topics(*LIVE_TOPICS)
    settings, api = _racing_api_settings(regions)
    _run_racing_api(run_live(settings, api))


@produce_app.command("historical")
def produce_historical(
    from_: Annotated[str | None, typer.Option("--from", help="First date, YYYY-MM-DD.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last date, YYYY-MM-DD.")] = None,
    regions: Annotated[str | None, typer.Option(help="Region codes, e.g. gb,ire.")] = None,
    daily: Annotated[bool, typer.Option("--daily", help="Just yesterday (UK).")] = False,
) -> None:
    """Backfill past races: pre-race prices joined with results (resumable, checkpointed)."""
    from datetime import date, timedelta

    from producers.racing_api.live import uk_today
    from producers.racing_api.normalise import now_utc
    from producers.racing_api.run import run_historical

    _logging()
    if daily:
        start = end = uk_today(now_utc()) - timedelta(days=1)
    elif from_ and to:
        try:
            start, end = date.fromisoformat(from_), date.fromisoformat(to)
        except ValueError as error:
            raise typer.BadParameter(f"dates must be YYYY-MM-DD: {error}") from None
        if start > end:
            raise typer.BadParameter("--from must not be after --to")
    else:
        raise typer.BadParameter("give --from and --to, or --daily")
    _require_topics(RACECARDS, ODDS_HISTORICAL, RESULTS)
    settings, api = _racing_api_settings(regions)
    outcomes = _run_racing_api(run_historical(settings, api, start, end))
    typer.echo(f"historical: {len(outcomes or [])} date(s) published")


@produce_app.command("reference")
def produce_reference(
    regions: Annotated[str | None, typer.Option(help="Region codes, e.g. gb,ire.")] = None,
) -> None:
    """Publish courses, regions, horses (with pedigree) and people onto reference topics."""
    from producers.racing_api.run import run_reference

    _logging()
    _require_topics(*REFERENCE_TOPICS)
    settings, api = _racing_api_settings(regions)
    published = _run_racing_api(run_reference(settings, api))
    typer.echo(f"reference: {published}")


@app.command("schedule")
def schedule(
    jobs: Annotated[
        str | None,
        typer.Option(
            help="Jobs or groups, comma-separated: racing-api (live, historical, "
            "reference-entities, reference-courses, reference-regions), maintenance "
            "(retention, statistics), simulate. Default: DARKHORSES_SCHEDULE_JOBS, else "
            "racing-api,maintenance."
        ),
    ] = None,
) -> None:
    """Run the scheduled jobs: the Racing API producers and the maintenance (retention,
    statistics), each on its cadence; their state is served at /v1/jobs."""
    from darkhorses.jobs import RACING_API_JOBS, SchedulerSettings, run_scheduler

    _logging()
    settings = SchedulerSettings()
    if jobs is not None:
        settings = settings.model_copy(update={"jobs": jobs})
    try:
        selected = settings.selected()
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if set(RACING_API_JOBS) & set(selected):
        from darkhorses.settings import RacingApiSettings

        credentials = RacingApiSettings()
        if not credentials.username or credentials.password is None:
            typer.echo(
                "error: the Racing API jobs need RACING_API_USERNAME and RACING_API_PASSWORD",
                err=True,
            )
            raise typer.Exit(2)
    if {"live", "simulate"} & set(selected):
        _require_topics(*LIVE_TOPICS)
    if {"historical"} & set(selected):
        _require_topics(RACECARDS, ODDS_HISTORICAL, RESULTS)
    if set(RACING_API_JOBS[2:]) & set(selected):
        _require_topics(*REFERENCE_TOPICS)
    _until_stopped(lambda stop: run_scheduler(settings, stop))


@app.command("streams")
def streams() -> None:
    """Run the Faust stream-processing worker."""
    import gc

    import faust
    import uvloop

    from streams.app import create_app
    from streams.settings import StreamsSettings

    # The market board is hundreds of thousands of long-lived objects and a batch allocates
    # rows by the ten thousand: collect the young generation hundreds of times less often (a third
    # more throughput in `make bench`).
    gc.set_threshold(200_000, 50, 50)
    # uvloop: the pipeline's socket writes and callbacks cost about a tenth of its time on
    # asyncio's own loop (Faust, aiokafka and asyncpg all support it).
    _require_topics(*ALL_TOPICS)
    uvloop.install()
    settings = StreamsSettings()
    worker = faust.Worker(create_app(settings), loglevel="INFO", redirect_stdouts=False)
    worker.execute_from_commandline()


@app.command("api")
def api() -> None:
    """Serve the REST and websocket API."""
    from api.live.settings import InsecureSecretError
    from api.server import serve
    from api.settings import ApiSettings

    _require_topics(ODDS_LIVE, RACECARDS, MARKET_STATE, ANALYTICS_RACES, ANALYTICS_BOOKMAKERS)
    try:
        serve(ApiSettings())
    except InsecureSecretError as error:
        typer.echo(f"darkhorses api: refusing to start: {error}", err=True)
        raise typer.Exit(2) from None


@app.command("up")
def up(
    compression: Annotated[float, typer.Option(help="Simulator time compression.")] = 1.0,
    workers: Annotated[
        int, typer.Option(min=1, max=RACE_PARTITIONS, help="Streams workers (they share races).")
    ] = 1,
    api_processes: Annotated[
        int, typer.Option(min=1, max=64, help="API processes sharing the port.")
    ] = 1,
) -> None:
    """Run the whole system locally: Kafka, PostgreSQL, simulator, streams and API. Ctrl-C stops."""
    from darkhorses.stack import run_stack

    _logging()
    raise typer.Exit(run_stack(compression, workers, api_processes))
