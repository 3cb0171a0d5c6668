"""Query values several routes share: paging and free text, with the bounds FastAPI checks first.

Free text refuses control characters (NUL above all: PostgreSQL refuses a NUL in any text value,
which would otherwise surface as a 500); everything else reaches the storage function untouched.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

PAGE_DEFAULT, PAGE_MAX = 100, 1000
OFFSET_MAX = 1_000_000_000  # far beyond any organization; keeps the value inside a database integer
TEXT_MAX = 200
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description="At most this many items.")]
Offset = Annotated[int, Query(ge=0, le=OFFSET_MAX, description="Skip this many items first.")]


def text_query(description: str) -> object:
    """A free-text query value: at most ``TEXT_MAX`` characters, no control characters."""
    return Query(description=description, max_length=TEXT_MAX, pattern=PRINTABLE)

