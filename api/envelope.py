"""One response style for every endpoint: `{"data": ..., "meta": ...}`.

Lists are paginated with `limit`/`offset` and report the `total` matching rows; sorting is a
field name, `-` for descending, checked against each endpoint's allowed fields (422 otherwise).
Feeds whose rows move while a client pages (the latest prices) are paginated by a cursor
instead: `meta.next_cursor` is passed back as `cursor` for the next page, and is null on the last.
"""

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from api.errors import InvalidParameterError

T = TypeVar("T")


class PageMeta(BaseModel):
    total: int = Field(description="Rows matching the filters, over all pages.")
    limit: int
    offset: int
    sort: str | None = None


class Page(BaseModel, Generic[T]):
    data: list[T]
    meta: PageMeta


class CursorMeta(BaseModel):
    limit: int
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same filters) for the next page; null when "
        "this page is the last."
    )


class CursorPage(BaseModel, Generic[T]):
    data: list[T]
    meta: CursorMeta


class Item(BaseModel, Generic[T]):
    data: T


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int
    offset: int


def paging(
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")] = 0,
) -> Paging:
    return Paging(limit, offset)


def order_by(sort: str | None, allowed: dict[str, str], default: str, key: str) -> str:
    """SQL ORDER BY text for `sort` (e.g. `-name`), mapping public names to columns.

    `key` (the rows' unique columns, comma-separated) follows in the same direction, so rows that
    tie on the sort keep one order: pages neither repeat nor skip a row, and `-name` is exactly
    the reverse of `name`.
    """
    chosen = sort or default
    descending = chosen.startswith("-")
    column = allowed.get(chosen.removeprefix("-"))
    if column is None:
        choices = ", ".join(sorted(allowed))
        raise InvalidParameterError(
            f"cannot sort by {chosen!r}; choose one of {choices} (prefix - to reverse)",
            field="sort",
        )
    direction = "DESC" if descending else "ASC"
    tiebreak = ", ".join(f"{part.strip()} {direction}" for part in key.split(","))
    return f"{column} {direction} NULLS LAST, {tiebreak}"
