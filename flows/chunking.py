"""How many rows the next assign-chunk task takes.

A chunk is one transaction and one Prefect task run. Every task run costs a fixed amount (API
calls, state changes, a transaction that locks the organization, a dozen statements), so 500-row
chunks on a fast database spend much of a 15,000-row job on orchestration. Unless the admin fixed a
size (``--chunk-size``), chunks start at ``START_ROWS`` and are sized by the rate the previous one
reached, aiming at ``TARGET_SECONDS`` each: long enough that orchestration is a small share, short
enough that progress moves, a retry redoes little and other writers of the organization wait little.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from phonesys.rules.limits import CHUNK_SIZE_MAX

START_ROWS = 500
MIN_ROWS = 50
MAX_ROWS = CHUNK_SIZE_MAX  # the most a fixed --chunk-size may ask for, too
TARGET_SECONDS = 2.0
MAX_GROWTH = 4  # a fast first chunk (warm caches, no contention) must not jump straight to the cap


@dataclass
class ChunkSizer:
    """Chunk sizes for one run: ``fixed`` when the admin gave one, else sized by time."""

    fixed: int | None = None
    size: int = START_ROWS

    def next_size(self) -> int:
        return self.fixed or self.size

    def record(self, rows: int, seconds: float) -> None:
        """Learn from a chunk of ``rows`` that took ``seconds`` (a short last chunk teaches nothing)."""
        if self.fixed or rows < self.size:
            return
        wanted = int(rows / max(seconds, 0.001) * TARGET_SECONDS)
        self.size = max(MIN_ROWS, min(MAX_ROWS, self.size * MAX_GROWTH, wanted))


def chunks_of(row_ids: list[int], sizer: ChunkSizer) -> Iterator[list[int]]:
    """Consecutive slices of ``row_ids``, each as long as the sizer says when it is asked."""
    start = 0
    while start < len(row_ids):
        chunk = row_ids[start:start + sizer.next_size()]
        start += len(chunk)
        yield chunk
