"""`darkhorses`: one command-line entry point, a subcommand per runtime and chore."""

import asyncio
import contextlib
import logging
from typing import Annotated

import typer

from darkhorses.settings import ConnectionSettings, LocalInfraSettings

app = typer.Typer(help="DarkHorses: real-time horse-racing odds.", no_args_is_help=True)
kafka_app = typer.Typer(help="The local Apache Kafka broker (KRaft, from Maven Central jars).")
db_app = typer.Typer(help="PostgreSQL: the local embedded server and migrations.")
topics_app = typer.Typer(help="Kafka topics from the registry in schemas/topics.py.")
schemas_app = typer.Typer(help="The event contract's JSON Schema files.")
produce_app = typer.Typer(help="Producers: publish events onto Kafka.")
for sub, name in (
    (kafka_app, "kafka"), (db_app, "db"), (topics_app, "topics"),
    (schemas_app, "schemas"), (produce_app, "produce"),
):  # fmt: skip
    app.add_typer(sub, name=name, no_args_is_help=True)


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", force=True
    )


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
    """Apply pending sql/ migrations to DATABASE_URL."""
    from darkhorses.migrate import migrate

    _logging()
    applied = asyncio.run(migrate(ConnectionSettings().database_url))
    typer.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")


@topics_app.command("create")
def topics_create() -> None:
    """Create every registered topic missing on KAFKA_BOOTSTRAP_SERVERS."""
    from darkhorses.infra.kafka import ensure_topics

    _logging()
    asyncio.run(ensure_topics(ConnectionSettings().kafka_bootstrap_servers))


@schemas_app.command("export")
def schemas_export() -> None:
    """Regenerate schemas/jsonschema/*.json from the event models."""
    from schemas.jsonschema_export import write_schemas

    for path in write_schemas():
        typer.echo(f"wrote {path}")


# -- runtimes ---------------------------------------------------------------------------------


@produce_app.command("simulate")
def produce_simulate(
    seed: Annotated[int | None, typer.Option(help="Random seed (same seed, same market).")] = None,
    compression: Annotated[float | None, typer.Option(help="Simulated seconds per second.")] = None,
) -> None:
    """Publish the built-in simulated market (no credentials needed)."""
    from producers.settings import SimulatorSettings
    from producers.simulate import run_simulator

    _logging()
    overrides = {
        k: v for k, v in {"seed": seed, "compression": compression}.items() if v is not None
    }
    settings = SimulatorSettings().model_copy(update=overrides)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_simulator(settings))


@app.command("streams")
def streams() -> None:
    """Run the Faust stream-processing worker."""
    import faust

    from streams.app import create_app
    from streams.settings import StreamsSettings

    settings = StreamsSettings()
    worker = faust.Worker(create_app(settings), loglevel="INFO", redirect_stdouts=False)
    worker.execute_from_commandline()


@app.command("api")
def api() -> None:
    """Serve the REST and websocket API."""
    from api.server import serve
    from api.settings import ApiSettings

    serve(ApiSettings())


@app.command("up")
def up(
    compression: Annotated[float, typer.Option(help="Simulator time compression.")] = 1.0,
) -> None:
    """Run the whole system locally: Kafka, PostgreSQL, simulator, streams and API. Ctrl-C stops."""
    from darkhorses.stack import run_stack

    _logging()
    raise typer.Exit(run_stack(compression=compression))
