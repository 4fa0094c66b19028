"""The API's connection pool: read-only by construction."""

import asyncpg

from api.settings import ApiSettings


def open_pool(settings: ApiSettings) -> asyncpg.Pool:
    """A pool whose connections run as the read-only role, in read-only transactions.

    Use as `async with open_pool(settings) as pool:`.
    """
    server_settings = {"default_transaction_read_only": "on"}
    if settings.read_only_role:
        server_settings["role"] = settings.read_only_role
    return asyncpg.create_pool(
        settings.database_url, min_size=1, max_size=10, server_settings=server_settings
    )
