"""Manual flush: DB.flush() writes the memtable into a level-0 table that survives a reopen,
releases the GIL while it waits, and fails cleanly after close."""

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
