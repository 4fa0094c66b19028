"""API keys: created and revoked from the CLI; only a SHA-256 of each key is stored.

Keys are 32 random bytes, so a fast hash is safe (no dictionary to attack); the id prefix lets a
key be named in logs and revoked without revealing it.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

KEY_PREFIX = "dh_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    rate_limit_per_min: int
    created_at: datetime
    revoked_at: datetime | None


async def create_key(database_url: str, name: str, rate_limit_per_min: int) -> tuple[str, str]:
    """Store a new key; returns (id, key). The key is shown once and never stored in clear."""
    key_id = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "INSERT INTO api_keys (id, name, key_hash, rate_limit_per_min) VALUES ($1, $2, $3, $4)",
            key_id,
            name,
            hash_key(key),
            rate_limit_per_min,
        )
    finally:
        await connection.close()
    return key_id, key


async def revoke_key(database_url: str, key_id: str) -> bool:
    """Revoke by id; False if no active key has that id."""
    connection = await asyncpg.connect(database_url)
    try:
        status: str = await connection.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", key_id
        )
    finally:
        await connection.close()
    return status.endswith(" 1")


async def list_keys(database_url: str) -> list[ApiKey]:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT id, name, rate_limit_per_min, created_at, revoked_at "
            "FROM api_keys ORDER BY created_at"
        )
    finally:
        await connection.close()
    return [ApiKey(**dict(row)) for row in rows]
