"""COPY of the sinks' rows as one binary payload built natively (native/pgcopy, Rust).

asyncpg's `copy_records_to_table` encodes value by value and calls back into Python for the
codecs the sinks install (streams/pg_codecs.py): ~4.5 µs for an `odds_latest` row, against
~1 µs here (encoded and sent), on the streams worker's busiest core. The payload is exactly
what those codecs give (tests/unit/streams/test_pg_copy.py compares them value by value). A
table with a column type it does not encode, or a batch with a value it does not take, goes
through asyncpg as before: the fast path never decides what is stored.
"""

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
from darkhorses_pgcopy import encode

log = logging.getLogger(__name__)

# PostgreSQL type names (pg_type.typname) -> the encoder's column types.
ENCODINGS = {
    "text": "text",
    "varchar": "text",
    "bpchar": "text",
    "int2": "int2",
    "int4": "int4",
    "int8": "int8",
    "float8": "float8",
    "bool": "bool",
    "numeric": "numeric",
    "timestamptz": "timestamptz",
    "date": "date",
    "json": "json",
    "jsonb": "jsonb",
    "_text": "text[]",
    "_varchar": "varchar[]",
}
TYPES_SQL = """
SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
"""

# (table, columns) -> the columns' encodings, None when one is not supported. Temporary staging
# tables have the same name and types on every connection.
_encodings: dict[tuple[str, tuple[str, ...]], tuple[str, ...] | None] = {}


async def column_encodings(
    connection: asyncpg.Connection, table: str, columns: tuple[str, ...]
) -> tuple[str, ...] | None:
    key = (table, columns)
    if key not in _encodings:
        types = dict(await connection.fetch(TYPES_SQL, table))
        if missing := [c for c in columns if c not in types]:
            raise LookupError(f"{table} has no column {', '.join(missing)}")
        supported = all(types[c] in ENCODINGS for c in columns)
        _encodings[key] = tuple(ENCODINGS[types[c]] for c in columns) if supported else None
    return _encodings[key]


async def copy_rows(
    connection: asyncpg.Connection,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """COPY `rows` (tuples in `columns` order) into `table`."""
    encodings = await column_encodings(connection, table, columns)
    if encodings is not None:
        try:
            payload = encode(rows, encodings)
        except (TypeError, ValueError) as error:
            log.debug("%s rows through asyncpg: %s", table, error)
        else:
            # A memoryview: asyncpg sends a buffer as it is (bytes would be taken for a path,
            # a file read in a thread).
            await connection.copy_to_table(
                table, source=memoryview(payload), columns=columns, format="binary"
            )
            return
    await connection.copy_records_to_table(table, records=rows, columns=columns)
