"""Idempotent batched writes into PostgreSQL.

Rows are COPYed into a temporary staging table, then upserted with
`INSERT ... SELECT DISTINCT ON (key) ... ON CONFLICT DO UPDATE ... WHERE old.version < new.version`,
so a replayed, duplicated or out-of-order batch never moves a row backwards. History tables
(`version=()`) insert only rows whose key is new (`ON CONFLICT DO NOTHING`). Writers that know
their keys are new (`append`: COPYed straight in) or stored (`update`) skip that work, and a
batch that proves them wrong is written again the upsert way. `write` puts several tables' rows
in one transaction, so a batch lands whole or not at all. While PostgreSQL is
unreachable a write is retried with capped exponential backoff; the caller acknowledges the source
events only after `write` returns, so nothing is lost. Rows PostgreSQL (or the encoder) refuses
for what they hold are never retried: `write` raises `RowsRefused`, and the caller finds the
events responsible by bisecting its batch (`write_each`).
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import asyncpg

from streams import pg_codecs
from streams.metrics import SINK_RETRIES, SINK_ROWS
from streams.pg_copy import copy_rows

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRIABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.TooManyConnectionsError,
    TimeoutError,
    # Concurrent agents upserting the same rows: PostgreSQL aborts one, which just tries again.
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)


class RowsRefused(Exception):
    """PostgreSQL refused a batch's rows for their content (a value out of range, an index row
    too large...): retrying cannot help, the events behind them must be set aside."""


@dataclass(frozen=True, slots=True)
class UpsertTable:
    """How to upsert into one table: its columns, key and version columns.

    `decimals` are numeric columns whose rows carry the decimal as text ("2.75", as published):
    staged as text and cast by PostgreSQL, which is cheaper than encoding `Decimal`s.

    Writers that know their rows' keys are new (`append`) or already stored (`update`) say so:
    appended rows are COPYed straight into the table (a quarter of the server's work of staging
    and inserting), updates skip the insert attempt. Should a row prove them wrong (a duplicate
    key fails the COPY; an update finds fewer rows than it has), the whole batch is written again
    the upsert way, so a wrong guess costs time, never data."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    version: tuple[str, ...]
    decimals: tuple[str, ...] = ()
    append: bool = False
    update: bool = False

    def __post_init__(self) -> None:
        if self.append and self.update:
            raise ValueError(f"{self.name}: rows are either new or stored, not both")

    @property
    def staging(self) -> str:
        return f"stage_{self.name}" + ("_new" if self.append else "_old" if self.update else "")

    def update_sql(self) -> str:
        """UPDATE the stored rows from staging (keys unique), newer versions only."""
        staging = self.staging
        updates = ", ".join(
            f'"{c}" = s."{c}"::numeric' if c in self.decimals else f'"{c}" = s."{c}"'
            for c in self.columns
            if c not in self.key
        )
        match = " AND ".join(f't."{c}" = s."{c}"' for c in self.key)
        old = ", ".join(f't."{c}"' for c in self.version)
        new = ", ".join(f's."{c}"' for c in self.version)
        guard = f" AND ({old}) < ({new})" if self.version else ""
        return (
            f"UPDATE {self.name} AS t SET {updates} FROM {staging} AS s "  # noqa: S608
            f"WHERE {match}{guard}"
        )

    def staging_sql(self) -> str:
        cols = ", ".join(f'"{c}"::text' if c in self.decimals else f'"{c}"' for c in self.columns)
        return (
            f"CREATE TEMP TABLE IF NOT EXISTS {self.staging} ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {cols} FROM {self.name} WITH NO DATA"
        )

    def _select_list(self) -> str:
        return ", ".join(
            f'"{c}"::numeric' if c in self.decimals else f'"{c}"' for c in self.columns
        )

    def upsert_sql(self) -> str:
        staging = self.staging
        if not self.version:
            return self._insert_new_sql(staging)
        cols = ", ".join(f'"{c}"' for c in self.columns)
        key = ", ".join(f'"{c}"' for c in self.key)
        order = ", ".join([*(f'"{c}"' for c in self.key), *(f'"{c}" DESC' for c in self.version)])
        updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in self.columns if c not in self.key)
        old = ", ".join(f'{self.name}."{c}"' for c in self.version)
        new = ", ".join(f'EXCLUDED."{c}"' for c in self.version)
        # Identifiers come from the code's own table definitions, never from input.
        return (
            f"INSERT INTO {self.name} ({cols}) "  # noqa: S608
            f"SELECT DISTINCT ON ({key}) {self._select_list()} FROM {staging} ORDER BY {order} "
            f"ON CONFLICT ({key}) DO UPDATE SET {updates} WHERE ({old}) < ({new})"
        )

    def _insert_new_sql(self, staging: str) -> str:
        cols = ", ".join(f'"{c}"' for c in self.columns)
        key = ", ".join(f'"{c}"' for c in self.key)
        return (
            f"INSERT INTO {self.name} ({cols}) "  # noqa: S608
            f"SELECT DISTINCT ON ({key}) {self._select_list()} FROM {staging} ORDER BY {key} "
            f"ON CONFLICT ({key}) DO NOTHING"
        )


Rows = Sequence[tuple[Any, ...]]


class Backoff:
    """Capped exponential waits between attempts while PostgreSQL is unreachable."""

    def __init__(self) -> None:
        self.delay = 0.1

    async def wait(self, what: str, error: BaseException) -> None:
        log.warning("PostgreSQL %s failed (%s); retrying in %.1fs", what, error, self.delay)
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, 5.0)


async def upsert(pool: asyncpg.Pool, table: UpsertTable, rows: Rows) -> None:
    """Write `rows` (tuples in `table.columns` order) idempotently, retrying until it succeeds."""
    await write(pool, [(table, rows)])


async def write(pool: asyncpg.Pool, batches: Sequence[tuple[UpsertTable, Rows]]) -> None:
    """Write every table's rows in one transaction, retrying with capped backoff until done."""
    merged: dict[UpsertTable, tuple[UpsertTable, list[tuple[Any, ...]]]] = {}
    for table, rows in batches:
        if rows:
            merged.setdefault(table, (table, []))[1].extend(rows)
    batches = list(merged.values())
    if not batches:
        return
    names = ",".join(table.name for table, _ in batches)
    backoff = Backoff()
    trusting = True  # the writers' `append` and `update` until a row proves them wrong
    while True:
        try:
            async with pool.acquire() as connection, connection.transaction():
                await _write_tables(connection, batches, trusting)
        except (asyncpg.UniqueViolationError, RowsMissing) as error:
            if not trusting:
                raise RowsRefused(f"{names}: {error}") from error
            log.info("%s: %s; writing the batch again as upserts", names, error)
            trusting = False
        except RETRIABLE as error:
            if isinstance(error, ValueError):  # asyncpg's client-side DataError: the rows
                raise RowsRefused(f"{names}: {error}") from error
            SINK_RETRIES.labels(names).inc()
            await backoff.wait(f"write to {names}", error)
        except (asyncpg.PostgresError, ValueError, OverflowError) as error:
            raise RowsRefused(f"{names}: {type(error).__name__}: {error}") from error
        else:
            for table, rows in batches:
                SINK_ROWS.labels(table.name).inc(len(rows))
            return


# An update joins its staged rows to the table. The staging table has no statistics, and the
# planner's default is a hash join over the whole target table: its cost grows with the table,
# not the batch (odds_latest: 130 ms per 2,500 rows at 70,000 quotes, against 65 ms through the
# primary key). Updates come last in the transaction, so the setting ends with it.
INDEX_JOIN = "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; "


class RowsMissing(Exception):
    """An `update` batch found fewer stored rows than it has."""


async def _write_tables(
    connection: asyncpg.Connection,
    batches: Sequence[tuple[UpsertTable, Rows]],
    trusting: bool,
) -> None:
    """COPY every table's rows (straight in, or into staging), then upsert (or update) the
    staged ones: few round trips, as each one waits for the worker's event loop."""
    staged = [table for table, _ in batches if not (table.append and trusting)]
    if staged:
        await connection.execute(";".join(t.staging_sql() for t in staged))
    for table, rows in batches:
        target = table.staging if table in staged else table.name
        await copy_rows(connection, target, table.columns, rows)
    upserts = [t for t in staged if not (t.update and trusting)]
    if upserts:
        await connection.execute(";".join(t.upsert_sql() for t in upserts))
    for table, rows in batches:
        if table.update and trusting:
            status = await connection.execute(INDEX_JOIN + table.update_sql())
            if int(status.split()[-1]) != len(rows):
                raise RowsMissing(f"{status} of {len(rows)} {table.name} rows")


async def write_each(
    sink: "BatchSink", items: Sequence[tuple[T, Sequence[tuple[UpsertTable, Rows]]]]
) -> list[tuple[T, str]]:
    """Write every item's rows in one transaction; should PostgreSQL refuse them, bisect the
    items until those it refuses are found, writing all the others. Returns the refused items
    with PostgreSQL's reason (a batch with one poison event costs ~2 log2(n) transactions)."""
    if not items:
        return []
    try:
        await sink.write([write for _, writes in items for write in writes])
    except RowsRefused as refused:
        if len(items) == 1:
            return [(items[0][0], str(refused))]
        half = len(items) // 2
        return [*await write_each(sink, items[:half]), *await write_each(sink, items[half:])]
    return []


class BatchSink(Protocol):
    """Where an agent writes a batch's rows; `write` returns once they are durable."""

    async def write(self, batches: Sequence[tuple[UpsertTable, Rows]]) -> None: ...

    async def fetch(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of a query (the state a worker restores), retried like `write`."""
        ...


SinkFactory = Callable[[], AbstractAsyncContextManager[BatchSink]]


class PostgresSink:
    """A connection pool owned by one agent. Connections open lazily (min_size=0), so a worker
    started while PostgreSQL is down waits in `write`'s retry loop instead of crashing."""

    def __init__(self, database_url: str, max_size: int = 2) -> None:
        self.database_url = database_url
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None

    async def __aenter__(self) -> Self:
        self._pool = await asyncpg.create_pool(
            self.database_url, min_size=0, max_size=self.max_size, init=pg_codecs.register
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            await self._pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("PostgresSink used outside `async with`")
        return self._pool

    async def write(self, batches: Sequence[tuple[UpsertTable, Rows]]) -> None:
        await write(self.pool, batches)

    async def fetch(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        backoff = Backoff()
        while True:
            try:
                return [tuple(row) for row in await self.pool.fetch(query, *args)]
            except RETRIABLE as error:
                await backoff.wait("read", error)


def postgres_sinks(database_url: str, max_size: int = 2) -> SinkFactory:
    return lambda: PostgresSink(database_url, max_size)
