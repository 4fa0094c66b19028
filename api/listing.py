"""Filtered, sorted, paginated SELECTs for list endpoints (the Masters API, historical odds).

Every SQL fragment here comes from the endpoint definitions in code; values are always bound
parameters.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg
from pydantic import BaseModel

from api.envelope import Page, PageMeta, Paging, order_by

M = TypeVar("M", bound=BaseModel)


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
    key: str,
    columns: str = "*",
) -> tuple[list[asyncpg.Record], PageMeta]:
    """Rows of `source` (a table, view or subquery) with totals for the page envelope; `key`,
    the rows' unique columns, orders rows that tie on the sort."""
    order = order_by(sort, sorts, default_sort, key)
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


@dataclass(frozen=True, slots=True)
class Listing(Generic[M]):
    """One list endpoint's SELECT: its page model, source, columns and public sort names.

    Routes declare one at import time and call `fetch` with only what varies per request,
    so each states its filters, sorts and model and nothing else.
    """

    page_model: type[Page[M]]
    source: str
    columns: str
    sorts: dict[str, str]
    default_sort: str
    key: str  # the rows' unique columns: ties on the sort are ordered by them

    async def fetch(
        self,
        pool: asyncpg.Pool,
        page: Paging,
        sort: str | None,
        where: Mapping[str, Any] | None = None,
    ) -> Page[M]:
        """One page of rows; `where` maps `Filters.add` templates to values (None: no filter),
        bound in the order given."""
        filters = Filters()
        for template, value in (where or {}).items():
            filters.add(template, value)
        rows, meta = await fetch_page(
            pool,
            self.source,
            filters,
            page,
            sort,
            self.sorts,
            self.default_sort,
            self.key,
            self.columns,
        )
        return self.page_model.model_validate({"data": [dict(r) for r in rows], "meta": meta})
