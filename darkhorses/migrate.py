"""Apply `sql/NNNN_*.sql` migrations in order, each once, recorded in `schema_migrations`."""

import logging
from pathlib import Path
from urllib.parse import unquote, urlsplit

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


async def set_login_password(database_url: str, login: str) -> bool:
    """Give the role a login URL names (the API's read-only role) the password in that URL.

    False when the URL carries no password (nothing to set). Refuses a superuser or a role that
    does not exist: a mistyped URL must not change the owner's password. Passed as a
    transaction-local setting, so the password appears in no statement text.
    """
    parts = urlsplit(login)
    if not parts.username or parts.password is None:
        return False
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            await connection.execute(
                "SELECT set_config('darkhorses.login_role', $1, true),"
                " set_config('darkhorses.login_password', $2, true)",
                unquote(parts.username),
                unquote(parts.password),
            )
            await connection.execute(_ALTER_LOGIN_ROLE)
    finally:
        await connection.close()
    log.info("set the password of login role %s", unquote(parts.username))
    return True


_ALTER_LOGIN_ROLE = """
DO $$
DECLARE
    target text := current_setting('darkhorses.login_role');
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = target AND NOT rolsuper) THEN
        RAISE EXCEPTION 'no role % to set a password for (or it is a superuser)', target;
    END IF;
    EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', target,
                   current_setting('darkhorses.login_password'));
END
$$"""
