"""Filtered, sorted, paginated SELECTs for list endpoints (the Masters API, historical odds).

Every SQL fragment here comes from the endpoint definitions in code; values are always bound
parameters.
"""

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from api.envelope import PageMeta, Paging, order_by


@dataclass
class Filters:
    """Accumulates WHERE conditions with numbered parameters."""

    conditions: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def add(self, template: str, value: Any) -> None:
        """Add `template` (`{}` marks the parameter) unless `value` is None."""
        if value is None:
            return
        self.args.append(value)
        self.conditions.append(template.format(f"${len(self.args)}"))

    @property
    def where(self) -> str:
        return " AND ".join(self.conditions) or "true"


async def fetch_page(
    pool: asyncpg.Pool,
    source: str,
    filters: Filters,
    page: Paging,
    sort: str | None,
    sorts: dict[str, str],
    default_sort: str,
    columns: str = "*",
) -> tuple[list[asyncpg.Record], PageMeta]:
    """Rows of `source` (a table, view or subquery) with totals for the page envelope."""
    order = order_by(sort, sorts, default_sort)
    rows = await pool.fetch(
        f"SELECT {columns} FROM {source} WHERE {filters.where} "  # noqa: S608
        f"ORDER BY {order} LIMIT {page.limit} OFFSET {page.offset}",
        *filters.args,
    )
    total: int = await pool.fetchval(
        f"SELECT count(*) FROM {source} WHERE {filters.where}",  # noqa: S608
        *filters.args,
    )
    meta = PageMeta(total=total, limit=page.limit, offset=page.offset, sort=sort or default_sort)
    return rows, meta
