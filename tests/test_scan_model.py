"""``lessons.scan_model``: Redis's reverse-binary SCAN cursor, modelled without a server (the
notebook 03 experiment prints these values, so they must not change from run to run)."""

from __future__ import annotations

import pytest

from lessons.scan_model import HashTable, bucket_order, next_cursor, resize_during_scan

KEYS = [f"key:{n}" for n in range(40)]


def test_the_cursor_counts_with_its_bits_reversed() -> None:
    assert bucket_order(8) == [0, 4, 2, 6, 1, 5, 3, 7]
    assert next_cursor(0, 8) == 4 and next_cursor(7, 8) == 0
    assert bucket_order(1) == [0]
    for size in (2, 16, 1024):
        order = bucket_order(size)
        assert sorted(order) == list(range(size))  # every bucket exactly once
        bits = size.bit_length() - 1
        assert [int(format(b, f"0{bits}b")[::-1], 2) for b in order] == list(range(size))
    assert bucket_order(8, order="in order") == list(range(8))


def test_a_cursor_from_a_larger_table_keeps_only_the_bits_the_table_has() -> None:
    assert next_cursor(0b1100, 8) == next_cursor(0b100, 8) == 0b010


def test_a_full_scan_returns_every_key_once_and_ends_on_cursor_0() -> None:
    table = HashTable(KEYS, 8)
    run = resize_during_scan(KEYS, 8, 8, at_call=0, count=3)
    assert sorted(run.returned) == sorted(KEYS) and run.missed == run.repeated == 0
    assert run.calls[-1][0] == 0 and all(cursor != 0 for cursor, _ in run.calls[:-1])
    assert sum(len(bucket) for bucket in table.slots) == 40


def test_count_is_a_hint_a_batch_holds_whole_buckets_and_match_filters_afterwards() -> None:
    table = HashTable([f"scan:{n}" for n in range(250)], 256)
    cursor, batch = table.scan(0, count=10)
    assert cursor != 0 and len(batch) >= 10  # whole buckets until about COUNT keys
    assert batch != sorted(batch)
    assert table.scan(0, count=10, match="nothing:*") == (cursor, [])  # same work, nothing kept
    sizes = []
    cursor = 0
    while True:
        cursor, batch = table.scan(cursor, count=10)
        sizes.append(len(batch))
        if cursor == 0:
            break
    assert sum(sizes) == 250 and len(set(sizes)) > 1


def test_an_empty_table_gives_up_after_ten_times_count_buckets() -> None:
    table = HashTable([], 1024)
    cursor, batch = table.scan(0, count=2)
    assert batch == [] and cursor == bucket_order(1024)[20]


@pytest.mark.parametrize("count", [1, 2, 3, 5])
@pytest.mark.parametrize("at_call", [1, 2, 3, 5])
def test_reverse_binary_never_misses_a_key_when_the_table_resizes(count: int, at_call: int) -> None:
    grown = resize_during_scan(KEYS, 8, 16, at_call=at_call, count=count)
    shrunk = resize_during_scan(KEYS, 16, 8, at_call=at_call, count=count)
    assert grown.missed == 0 and grown.repeated == 0
    assert shrunk.missed == 0


def test_the_notebooks_numbers_a_shrink_repeats_an_offset_misses_or_repeats() -> None:
    rows = {
        (order, size): resize_during_scan(KEYS, *size, at_call=5, count=3, order=order)
        for order in ("reverse", "in order")
        for size in ((8, 16), (16, 8))
    }
    assert [(r.missed, r.repeated) for r in rows.values()] == [(0, 0), (0, 3), (0, 15), (21, 0)]


def test_bad_sizes_and_orders_are_refused() -> None:
    with pytest.raises(ValueError, match="power of two"):
        HashTable([], 12)
    with pytest.raises(ValueError, match="power of two"):
        next_cursor(0, 0)
    with pytest.raises(ValueError, match="order"):
        next_cursor(0, 8, order="sideways")
