"""Chunk sizing: fixed when the admin says so, else sized by the time chunks take."""

from phonesys.flows.chunking import MAX_ROWS, MIN_ROWS, START_ROWS, TARGET_SECONDS, ChunkSizer, chunks_of


def test_a_fixed_size_never_changes():
    sizer = ChunkSizer(fixed=40)
    sizer.record(40, 0.001)
    sizer.record(40, 60.0)
    assert [len(c) for c in chunks_of(list(range(100)), sizer)] == [40, 40, 20]


def test_fast_chunks_grow_at_most_fourfold_a_step_up_to_the_cap():
    sizer = ChunkSizer()
    sizes = []
    for _ in range(5):
        sizes.append(sizer.next_size())
        sizer.record(sizer.next_size(), 0.01)  # 50,000 rows/s: far below the target time
    assert sizes == [START_ROWS, START_ROWS * 4, MAX_ROWS, MAX_ROWS, MAX_ROWS]


def test_slow_chunks_shrink_towards_the_target_time_but_not_below_the_floor():
    sizer = ChunkSizer()
    sizer.record(START_ROWS, 10.0)  # 50 rows/s: 2 s is 100 rows
    assert sizer.next_size() == int(50 * TARGET_SECONDS)
    sizer.record(sizer.next_size(), 100.0)
    assert sizer.next_size() == MIN_ROWS


def test_a_short_last_chunk_teaches_nothing_and_every_row_is_in_exactly_one_chunk():
    sizer = ChunkSizer()
    sizer.record(START_ROWS - 1, 100.0)
    assert sizer.next_size() == START_ROWS
    rows = list(range(12_345))
    chunks = []
    for chunk in chunks_of(rows, sizer):
        chunks.append(chunk)
        sizer.record(len(chunk), len(chunk) / 3000)  # 3,000 rows/s
    assert [r for c in chunks for r in c] == rows
    assert max(len(c) for c in chunks) == MAX_ROWS and len(chunks) < 12_345 / START_ROWS
