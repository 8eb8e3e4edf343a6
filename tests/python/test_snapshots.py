"""Snapshots: reads at a snapshot ignore later writes, deletes and flushes; multi_get reads
many keys at one sequence; properties."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from typing_extensions import Buffer

import groupkv


def fill(db: groupkv.DB, n: int, tag: bytes) -> None:
    """Enough data to switch (and flush) a 4 KiB memtable several times."""
    for i in range(n):
        db.put(b"fill-%05d" % i, tag * 100)


def test_snapshot_ignores_later_writes_deletes_and_flushes(db_path: Path) -> None:
    with groupkv.DB(db_path, write_buffer_size=4096) as db:
        db.put(b"k1", b"old1")
        db.put(b"k2", b"old2")
        fill(db, 50, b"o")
        with db.snapshot() as snap:
            assert snap.sequence == db.latest_sequence()
            db.put(b"k1", b"new1")
            db.delete(b"k2")
            db.put(b"k3", b"new3")
            fill(db, 300, b"n")
            assert db.stats()["memtable_switches"] > 0
            assert snap.get(b"k1") == b"old1"
            assert snap.get(b"k2") == b"old2"
            assert snap.get(b"k3") is None
            assert snap.get(b"k3", b"dflt") == b"dflt"
            assert db.get(b"k1", snapshot=snap) == b"old1"
            assert db.get(b"k3", b"dflt", snapshot=snap) == b"dflt"
            assert db.get(b"k1") == b"new1"
            assert db.multi_get([b"k1", b"k2", b"k3"], snapshot=snap) == [b"old1", b"old2", None]
            assert db.multi_get([b"k1", b"k2", b"k3"]) == [b"new1", None, b"new3"]
            assert list(snap.keys(prefix=b"k")) == [b"k1", b"k2"]
            assert list(snap.values(b"fill-00049", b"fill-00051")) == [b"o" * 100]
            assert list(snap.items(stop=b"fill-00001")) == [(b"fill-00000", b"o" * 100)]
            it = db.iterator(snapshot=snap, prefix=b"fill-", include_key=False)
            assert set(it) == {b"o" * 100}
            assert sum(1 for _ in snap.iterator(prefix=b"fill-")) == 50
            assert list(snap.iterator(reverse=True, prefix=b"k", include_value=False)) == [
                b"k2",
                b"k1",
            ]
        assert snap.closed
        with pytest.raises(groupkv.ClosedError):
            snap.get(b"k1")
        with pytest.raises(groupkv.ClosedError):
            db.get(b"k1", snapshot=snap)
        with pytest.raises(groupkv.ClosedError):
            snap.iterator()
        assert snap.sequence > 0  # a number, still readable
        snap.close()  # idempotent


def test_iterator_keeps_its_view_after_its_snapshot_closes(db: groupkv.DB) -> None:
    db.put(b"a", b"1")
    snap = db.snapshot()
    it = snap.keys()
    db.put(b"b", b"2")
    snap.close()
    assert list(it) == [b"a"]


def test_snapshot_of_another_database_is_refused(db: groupkv.DB, tmp_path: Path) -> None:
    with groupkv.DB(tmp_path / "other") as other:
        with other.snapshot() as snap:
            with pytest.raises(groupkv.InvalidArgumentError):
                db.get(b"k", snapshot=snap)
            with pytest.raises(groupkv.InvalidArgumentError):
                db.iterator(snapshot=snap)
            with pytest.raises(groupkv.InvalidArgumentError):
                db.multi_get([b"k"], snapshot=snap)


def test_multi_get_takes_any_iterable_of_buffers(db: groupkv.DB) -> None:
    db.put(b"a", b"1")
    db.put(b"", b"empty")
    assert db.multi_get([]) == []
    buffers: list[Buffer] = [bytearray(b"a"), memoryview(b""), b"zz"]
    assert db.multi_get(iter(buffers)) == [
        b"1",
        b"empty",
        None,
    ]
    with pytest.raises(TypeError):
        db.multi_get([b"a", "text"])  # type: ignore[list-item]


def test_property(db_path: Path) -> None:
    with groupkv.DB(db_path) as db:
        assert db.property("groupkv.num-files-at-level0") == "0"
        stats = db.property("groupkv.stats")
        assert stats is not None and stats.strip()
        assert db.property("groupkv.sstables") is not None
        usage = db.property("groupkv.approximate-memory-usage")
        assert usage is not None and int(usage) >= 0
        assert db.property("groupkv.no-such-property") is None
        assert db.property("leveldb.stats") is None


def test_threads_share_a_snapshot_and_one_closes_it(db: groupkv.DB) -> None:
    """Reads through one snapshot from many threads never deadlock (each read runs without the
    GIL), and closing it while others read gives each either the old value or ClosedError."""
    for i in range(200):
        db.put(b"k%03d" % i, b"old")
    snap = db.snapshot()
    for i in range(200):
        db.put(b"k%03d" % i, b"new")
    seen: list[object] = []

    def reader() -> None:
        for _ in range(20):
            try:
                values = db.multi_get([b"k%03d" % i for i in range(200)], snapshot=snap)
                assert set(values) == {b"old"}
                assert snap.get(b"k000") == b"old"
                assert sum(1 for _ in snap.keys()) == 200
                seen.append("ok")
            except groupkv.ClosedError:
                seen.append("closed")

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for th in threads:
        th.start()
    snap.close()
    for th in threads:
        th.join(timeout=60)
        assert not th.is_alive(), "a reader hung"
    assert len(seen) == 80
    assert seen.count("closed") > 0 or seen.count("ok") == 80
