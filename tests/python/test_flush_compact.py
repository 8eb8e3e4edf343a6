"""Manual flush and compaction: DB.flush() writes the memtable into a level-0 table that
survives a reopen; DB.compact_range() pushes a key range out of level 0 without changing what
reads see; both release the GIL while they wait and fail cleanly after close."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import groupkv


def level_files(db: groupkv.DB, level: int) -> int:
    value = db.property("groupkv.num-files-at-level%d" % level)
    assert value is not None
    return int(value)


def test_flush_moves_the_memtable_into_a_level0_table(db_path: Path) -> None:
    with groupkv.DB(db_path) as db:  # 64 MiB buffers: only flush() makes a table
        db.flush()  # an empty memtable: nothing to write, no error
        assert level_files(db, 0) == 0
        for i in range(200):
            db.put(b"key-%04d" % i, b"v" * 100)
        db.delete(b"key-0100")
        before = db.approximate_memory_usage()
        assert before > 200 * 100
        db.flush()
        assert level_files(db, 0) >= 1
        assert db.approximate_memory_usage() < before // 10
        stats = db.stats()
        assert stats["flushes"] >= 1 and stats["flush_bytes"] > 0
        assert db.get(b"key-0000") == b"v" * 100
        assert db.get(b"key-0100") is None
        files = level_files(db, 0)
        db.flush()  # nothing new: no new table
        assert level_files(db, 0) == files
    with groupkv.DB(db_path) as db:
        assert level_files(db, 0) >= 1
        assert db.get(b"key-0199") == b"v" * 100
        assert db.get(b"key-0100") is None
        assert sum(1 for _ in db) == 199


def test_flush_after_close_raises_closed_error(db_path: Path) -> None:
    db = groupkv.DB(db_path)
    db.put(b"k", b"v")
    db.close()
    with pytest.raises(groupkv.ClosedError):
        db.flush()


def test_flush_releases_the_gil_while_it_waits(db: groupkv.DB) -> None:
    db.put(b"a", b"1")
    db._set_write_stall_for_test(True)
    done = threading.Event()
    try:
        # A stalled writer holds the write queue; the flush waits behind it.
        writer = threading.Thread(target=lambda: db.put(b"b", b"2"))
        writer.start()
        time.sleep(0.1)

        def flush() -> None:
            db.flush()
            done.set()

        flusher = threading.Thread(target=flush)
        flusher.start()
        time.sleep(0.2)
        # This thread runs Python while the flush waits: the flush does not hold the GIL.
        assert not done.is_set()
    finally:
        db._set_write_stall_for_test(False)
    writer.join(timeout=10)
    flusher.join(timeout=10)
    assert done.is_set()
    assert level_files(db, 0) >= 1
    assert db.get(b"b") == b"2"


def compaction_db(path: Path) -> groupkv.DB:
    """Small buffers; level-0 triggers high enough that only compact_range empties level 0."""
    return groupkv.DB(
        path,
        write_buffer_size=4096,
        level0_file_num_compaction_trigger=1000,
        level0_slowdown_writes_trigger=1000,
        level0_stop_writes_trigger=1000,
    )


def files_below_level0(db: groupkv.DB) -> int:
    return sum(level_files(db, level) for level in range(1, 7))


def test_compact_range_of_everything_empties_level0_and_keeps_every_key(db_path: Path) -> None:
    expected: dict[bytes, bytes] = {}
    with compaction_db(db_path) as db:
        for i in range(300):
            db.put(b"cr%04d" % i, b"v%04d" % i * 20)
            expected[b"cr%04d" % i] = b"v%04d" % i * 20
        for i in range(0, 300, 7):
            db.delete(b"cr%04d" % i)
            del expected[b"cr%04d" % i]
        for i in range(0, 300, 5):  # overwrites: the older values must not come back
            db.put(b"cr%04d" % i, b"new")
            expected[b"cr%04d" % i] = b"new"
        db.flush()
        assert level_files(db, 0) >= 2
        db.compact_range()
        assert level_files(db, 0) == 0
        assert files_below_level0(db) >= 1
        assert db.stats()["compactions"] >= 1
        assert dict(db.items()) == expected
    with compaction_db(db_path) as db:
        assert level_files(db, 0) == 0
        assert dict(db.items()) == expected


def test_compact_range_of_a_sub_range_moves_only_its_tables(db_path: Path) -> None:
    with compaction_db(db_path) as db:
        db.put(b"a1", b"x")
        db.put(b"a2", b"y")
        db.flush()
        db.put(b"b1", b"z")
        db.delete(b"a2")
        db.flush()
        db.put(b"c1", b"w")
        db.flush()
        assert level_files(db, 0) == 3
        db.compact_range(start=bytearray(b"c"), stop=memoryview(b"c\xff"))
        assert level_files(db, 0) == 2
        assert files_below_level0(db) == 1
        db.compact_range(stop=b"a9")  # from the smallest key; both remaining tables reach a9
        assert level_files(db, 0) == 0
        assert dict(db.items()) == {b"a1": b"x", b"b1": b"z", b"c1": b"w"}


def test_compact_range_of_empty_or_reversed_ranges_is_harmless(db_path: Path) -> None:
    with compaction_db(db_path) as db:
        for i in range(100):
            db.put(b"k%03d" % i, b"v" * 50)
        db.flush()
        files = level_files(db, 0)
        assert files >= 1
        db.compact_range(b"x", b"y")  # no key in it
        assert level_files(db, 0) == files
        db.compact_range(b"k080", b"k020")  # reversed
        db.compact_range(b"", b"")  # only the empty key, which is absent
        assert [k for k in db] == [b"k%03d" % i for i in range(100)]


def test_compact_range_rejects_bad_arguments_and_a_closed_db(db_path: Path) -> None:
    db = compaction_db(db_path)
    with pytest.raises(TypeError, match="start"):
        db.compact_range("a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="stop"):
        db.compact_range(stop=5)  # type: ignore[arg-type]
    db.close()
    with pytest.raises(groupkv.ClosedError):
        db.compact_range()
    with pytest.raises(groupkv.ClosedError):
        db.compact_range(b"a", b"b")


def test_compact_range_releases_the_gil_while_it_waits(db: groupkv.DB) -> None:
    db.put(b"a", b"1")
    db._set_write_stall_for_test(True)
    done = threading.Event()
    try:
        # A stalled writer holds the write queue; compact_range's flush waits behind it.
        writer = threading.Thread(target=lambda: db.put(b"b", b"2"))
        writer.start()
        time.sleep(0.1)

        def compact() -> None:
            db.compact_range()
            done.set()

        compactor = threading.Thread(target=compact)
        compactor.start()
        time.sleep(0.2)
        assert not done.is_set()
    finally:
        db._set_write_stall_for_test(False)
    writer.join(timeout=10)
    compactor.join(timeout=10)
    assert done.is_set()
    assert level_files(db, 0) == 0
    assert db.get(b"b") == b"2"


def test_disable_auto_compactions_leaves_level0_to_compact_range(db_path: Path) -> None:
    with groupkv.DB(
        db_path,
        write_buffer_size=4096,
        level0_file_num_compaction_trigger=2,
        disable_auto_compactions=True,
    ) as db:
        for round_ in range(5):
            for i in range(20):
                db.put(b"da%04d" % (i * 5 + round_), b"v%d" % round_)
            db.flush()
        assert level_files(db, 0) >= 5  # past the trigger (2), nothing compacted on its own
        assert db.stats()["compactions"] == 0
        db.compact_range()
        assert level_files(db, 0) == 0
        assert db.stats()["compactions"] >= 1
        assert db.get(b"da0000") == b"v0"
