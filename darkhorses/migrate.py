"""Apply `sql/NNNN_*.sql` migrations in order, each once, recorded in `schema_migrations`."""

import logging
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

_CANDIDATES = (
    Path(__file__).parent / "sql",  # installed wheel
    Path(__file__).parents[1] / "sql",  # source checkout
)
# Serialises concurrent migrators (the API and the streams worker may start together).
_LOCK_ID = 0x6461726B


def migrations_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("no sql/ migrations folder found next to the darkhorses package")


async def migrate(database_url: str, directory: Path | None = None) -> list[str]:
    """Apply pending migrations; returns the names applied by this call."""
    files = sorted((directory or migrations_dir()).glob("[0-9][0-9][0-9][0-9]_*.sql"))
    applied_now: list[str] = []
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        await connection.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["name"] for r in await connection.fetch("SELECT name FROM schema_migrations")}
        for path in files:
            if path.name in done:
                continue
            async with connection.transaction():
                await connection.execute(path.read_text())
                await connection.execute(
                    "INSERT INTO schema_migrations (name) VALUES ($1)", path.name
                )
            log.info("applied migration %s", path.name)
            applied_now.append(path.name)
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
        await connection.close()
    return applied_now
