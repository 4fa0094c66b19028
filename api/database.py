"""The API's connection pool: read-only by construction."""

import asyncpg

from api.settings import ApiSettings


def open_pool(settings: ApiSettings) -> asyncpg.Pool:
    """A pool that logs in as the read-only role (`ApiSettings.reader_url`: SELECT only, and
    read-only transactions by default, set on the role by the migrations and here again).

    Use as `async with open_pool(settings) as pool:`.
    """
    return asyncpg.create_pool(
        settings.reader_url,
        min_size=1,
        max_size=10,
        server_settings={"default_transaction_read_only": "on"},
    )
