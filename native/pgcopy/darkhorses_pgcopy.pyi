from collections.abc import Iterable, Sequence
from typing import Any

def encode(rows: Iterable[tuple[Any, ...]], types: Sequence[str]) -> bytes:
    """The binary COPY stream of `rows` (signature, rows, trailer), one value per column type:
    text, int2, int4, int8, float8, bool, numeric, timestamptz, date, json,
    jsonb, text[], varchar[].
    Raises TypeError or ValueError for a value it does not take."""
