"""The whole public API, call by call."""

from __future__ import annotations

import array
import importlib.metadata
import inspect
import os
from pathlib import Path

import pytest

import groupkv


def test_version_and_constants() -> None:
    assert isinstance(groupkv.__version__, str)
    assert groupkv.__version__.count(".") == 2
    assert groupkv.WAL_RECOVERY_MODES == [
        "tolerate_corrupted_tail_records",
        "absolute_consistency",
        "point_in_time",
        "skip_any_corrupted_records",
    ]
    assert groupkv.MAX_KEY_VALUE_SIZE == 2**32 - 1
    assert groupkv.COMPRESSIONS == ["none", "snappy"]


def test_version_matches_the_installed_distribution() -> None:
    # The wheel's version comes from bindings/python/Cargo.toml, __version__ from the core
    # crate: they must not drift apart.
    assert groupkv.__version__ == importlib.metadata.version("groupkv")


def test_all_is_complete_and_importable() -> None:
    public = {n for n in dir(groupkv) if not n.startswith("_")} - {"_groupkv"}
    # IOError stays an attribute but not in __all__: a star import must not shadow the builtin.
    assert set(groupkv.__all__) - {"__version__"} == public - {"IOError"}
    for name in groupkv.__all__:
        assert getattr(groupkv, name) is not None


def test_put_get_delete(db: groupkv.DB) -> None:
    assert db.get(b"k") is None
    assert db.get(b"k", b"fallback") == b"fallback"
    db.put(b"k", b"v")
    assert db.get(b"k") == b"v"
    assert isinstance(db.get(b"k"), bytes)
    db.put(b"k", b"v2", sync=True)
    assert db.get(b"k", b"fallback") == b"v2"
    db.delete(b"k", sync=True)
    assert db.get(b"k") is None
    db.delete(b"never-existed")  # deleting an absent key is fine
    db.put(b"w", b"x", disable_wal=True)
    db.put(b"n", b"x", no_slowdown=True)
    assert db.get(b"w") == b"x" and db.get(b"n") == b"x"


@pytest.mark.parametrize(
    "make",
    [
        bytes,
        bytearray,
        lambda b: memoryview(b),
        lambda b: memoryview(b"xx" + b + b"yy")[2:-2],
        lambda b: array.array("B", b),
        lambda b: memoryview(array.array("B", b)).cast("c"),
    ],
    ids=["bytes", "bytearray", "memoryview", "memoryview-slice", "array", "cast-memoryview"],
)
def test_every_contiguous_buffer_is_accepted(db: groupkv.DB, make: object) -> None:
    assert callable(make)
    key, value = make(b"key"), make(b"value")
    db.put(key, value)
    assert db.get(key) == b"value"
    assert db[key] == b"value"
    assert key in db
    batch = groupkv.WriteBatch()
    batch.put(key, make(b"other"))
    db.write(batch)
    assert db.get(b"key") == b"other"
    db.delete(key)
    assert key not in db


def test_multibyte_items_buffer(db: groupkv.DB) -> None:
    # An int32 array is 4 bytes per item: its raw bytes are the key.
    key = array.array("i", [1, 2])
    db.put(key, b"v")
    assert db.get(key.tobytes()) == b"v"


def test_mapping_protocol(db: groupkv.DB) -> None:
    db[b"a"] = b"1"
    assert db[b"a"] == b"1"
    assert b"a" in db
    assert b"b" not in db
    with pytest.raises(KeyError) as info:
        db[b"b"]
    assert info.value.args == (b"b",)
    del db[b"a"]
    assert b"a" not in db
    with pytest.raises(KeyError) as deleted:
        del db[b"a"]  # like a dict: an absent key is a KeyError (it costs a read)
    assert deleted.value.args == (b"a",)
    with pytest.raises(KeyError):
        db[b"a"]


def test_write_batch_basics() -> None:
    batch = groupkv.WriteBatch()
    assert len(batch) == 0
    assert batch.data() == bytes(12)
    batch.put(b"a", b"1")
    batch.delete(b"b")
    assert len(batch) == 2
    assert batch.records() == [("put", b"a", b"1"), ("delete", b"b", None)]
    # LevelDB/RocksDB layout: seq 0 (8 bytes), count 2 (4), put a=1, delete b.
    assert batch.data() == bytes(8) + b"\x02\x00\x00\x00" + b"\x01\x01a\x011" + b"\x00\x01b"
    assert batch.approximate_size() == len(batch.data())
    copy = groupkv.WriteBatch.from_data(batch.data())
    assert copy == batch
    assert copy.records() == batch.records()
    assert copy != groupkv.WriteBatch()
    assert copy != "not a batch"
    batch.clear()
    assert len(batch) == 0
    assert batch.data() == bytes(12)
    assert "0 record" in repr(batch)


def test_write_batch_from_data_accepts_buffers() -> None:
    raw = bytes(8) + b"\x01\x00\x00\x00" + b"\x01\x01k\x01v"
    for buf in (raw, bytearray(raw), memoryview(raw)):
        assert groupkv.WriteBatch.from_data(buf).records() == [("put", b"k", b"v")]


def test_write_applies_batch_atomically(db: groupkv.DB) -> None:
    db.put(b"b", b"old")
    batch = groupkv.WriteBatch()
    batch.put(b"a", b"1")
    batch.delete(b"b")
    batch.put(b"c", b"3")
    before = db.latest_sequence()
    db.write(batch, sync=True)
    assert db.latest_sequence() == before + 3
    assert (db.get(b"a"), db.get(b"b"), db.get(b"c")) == (b"1", None, b"3")
    assert len(batch) == 3  # the batch is left as it was and may be written again
    db.write(batch)
    assert db.latest_sequence() == before + 6


def test_later_record_in_batch_wins(db: groupkv.DB) -> None:
    batch = groupkv.WriteBatch()
    batch.put(b"k", b"1")
    batch.put(b"k", b"2")
    batch.delete(b"j")
    batch.put(b"j", b"3")
    db.write(batch)
    assert db[b"k"] == b"2"
    assert db[b"j"] == b"3"


def test_batch_context_commits_on_clean_exit(db: groupkv.DB) -> None:
    db.put(b"gone", b"x")
    with db.batch(sync=True) as b:
        b.put(b"x", b"y")
        b.delete(b"gone")
        assert len(b) == 2
        assert db.get(b"x") is None  # nothing is visible before the block ends
    assert db[b"x"] == b"y"
    assert b"gone" not in db
    assert "committed" in repr(b)
    with pytest.raises(groupkv.ClosedError, match="already committed"):
        b.put(b"late", b"v")


def test_batch_context_discards_on_exception(db: groupkv.DB) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with db.batch() as b:
            b.put(b"x", b"y")
            raise RuntimeError("boom")
    assert db.get(b"x") is None
    with pytest.raises(groupkv.ClosedError, match="discarded"):
        b.delete(b"x")
    with pytest.raises(groupkv.ClosedError):
        b.__enter__()


def test_batch_context_clear(db: groupkv.DB) -> None:
    with db.batch(disable_wal=True) as b:
        b.put(b"x", b"y")
        b.clear()
        b.put(b"z", b"w")
    assert db.get(b"x") is None
    assert db[b"z"] == b"w"


def test_stats_has_every_counter_and_histogram(db: groupkv.DB) -> None:
    for i in range(10):
        db.put(b"k%d" % i, b"v", sync=True)
    stats = db.stats()
    counters = {
        "write_done_by_self",
        "write_done_by_other",
        "write_with_wal",
        "wal_syncs",
        "wal_bytes",
        "keys_written",
        "bytes_written",
        "stall_micros",
        "stall_memtable_micros",
        "stall_l0_slowdown_micros",
        "stall_l0_stop_micros",
        "memtable_switches",
        "flushes",
        "flush_bytes",
        "compactions",
        "compaction_bytes_read",
        "compaction_bytes_written",
        "block_cache_hit",
        "block_cache_miss",
        "bloom_useful",
        "memtable_bytes",
        "immutable_memtables",
    }
    histograms = {"write_group_size", "write_micros", "wal_sync_micros"}
    lists = {"num_files_at_level", "bytes_at_level"}
    assert set(stats) == counters | histograms | lists
    files, sizes = stats["num_files_at_level"], stats["bytes_at_level"]
    assert isinstance(files, list) and isinstance(sizes, list)
    assert len(files) == len(sizes)
    for n, size in zip(files, sizes):
        assert isinstance(n, int) and isinstance(size, int) and (n == 0 or size > 0)
    as_dict: dict[str, object] = dict(stats)
    for name in counters:
        assert isinstance(as_dict[name], int), name
    for name in histograms:
        h = as_dict[name]
        assert isinstance(h, dict)
        assert set(h) == {"count", "sum", "min", "max", "mean", "p50", "p99", "p999"}
        for field in ("count", "sum", "min", "max"):
            assert isinstance(h[field], int)
        for field in ("mean", "p50", "p99", "p999"):
            assert isinstance(h[field], float)
        assert h["min"] <= h["p50"] <= h["max"]
    # One thread: each write is its own group, synced once.
    assert stats["write_done_by_self"] == 10
    assert stats["write_done_by_other"] == 0
    assert stats["wal_syncs"] == 10
    assert stats["keys_written"] == 10
    assert stats["write_with_wal"] == 10
    assert stats["wal_bytes"] > 0
    wgs = stats["write_group_size"]
    assert isinstance(wgs, dict) and wgs["count"] == 10 and wgs["max"] == 1


def test_misc_accessors(db: groupkv.DB, db_path: Path) -> None:
    assert db.path == str(db_path)
    assert not db.closed
    assert db.latest_sequence() == 0
    base = db.approximate_memory_usage()
    db.put(b"k", b"v" * 1000)
    assert db.latest_sequence() == 1
    assert db.approximate_memory_usage() > base
    assert "open" in repr(db)
    db.close()
    assert db.closed
    assert "closed" in repr(db)


def test_path_forms(tmp_path: Path) -> None:
    forms: list[tuple[str | bytes | Path, str | bytes]] = [
        (tmp_path / "pathlib", str(tmp_path / "pathlib")),
        (str(tmp_path / "str"), str(tmp_path / "str")),
        (os.fsencode(tmp_path / "bytes"), os.fsencode(tmp_path / "bytes")),
    ]
    for given, expected in forms:
        with groupkv.DB(given) as db:
            db.put(b"k", b"v")
            assert db.path == expected
        with groupkv.DB(given, create_if_missing=False) as db:
            assert db[b"k"] == b"v"


def test_context_manager_and_idempotent_close(db_path: Path) -> None:
    with groupkv.DB(db_path) as db:
        assert isinstance(db, groupkv.DB)
        db.put(b"k", b"v")
    assert db.closed
    db.close()
    db.close()
    with pytest.raises(groupkv.ClosedError):
        db.get(b"k")
    # The context manager closes on an exception too, and lets it propagate.
    with pytest.raises(ZeroDivisionError):
        with groupkv.DB(db_path) as db2:
            1 / 0
    assert db2.closed
    with groupkv.DB(db_path) as db3:  # the LOCK was released
        assert db3[b"k"] == b"v"


def test_options_are_accepted(db_path: Path) -> None:
    for mode in groupkv.WAL_RECOVERY_MODES:
        with groupkv.DB(
            db_path,
            create_if_missing=True,
            error_if_exists=False,
            allow_concurrent_memtable_write=False,
            enable_pipelined_write=True,
            max_write_batch_group_size_bytes=4096,
            enable_write_thread_adaptive_yield=False,
            write_thread_max_yield_usec=10,
            write_thread_slow_yield_usec=1,
            wal_recovery_mode=mode,
        ) as db:
            db.put(mode.encode(), b"v", sync=True)
    with groupkv.DB(db_path) as db:
        for mode in groupkv.WAL_RECOVERY_MODES:
            assert db[mode.encode()] == b"v"


def test_allow_mmap_writes_round_trips(db_path: Path) -> None:
    # Mapped WAL appends (opt-in): enough to cross pages and 32 KiB blocks, some synced; a
    # reopen with the default (pwrite) reads every write back.
    with groupkv.DB(db_path, allow_mmap_writes=True) as db:
        for i in range(300):
            db.put(b"m%04d" % i, bytes([65 + i % 26]) * 300, sync=i % 40 == 0)
    with groupkv.DB(db_path, allow_mmap_writes=False) as db:
        for i in range(300):
            assert db[b"m%04d" % i] == bytes([65 + i % 26]) * 300
    with pytest.raises(groupkv.InvalidArgumentError, match="allow_mmap_writes"):
        groupkv.DB(db_path, allow_mmap_write=True)  # type: ignore[arg-type]


def test_create_if_missing_and_error_if_exists(db_path: Path) -> None:
    with pytest.raises(groupkv.InvalidArgumentError, match="create_if_missing"):
        groupkv.DB(db_path, create_if_missing=False)
    assert not db_path.exists()
    groupkv.DB(db_path, error_if_exists=True).close()
    with pytest.raises(groupkv.InvalidArgumentError, match="error_if_exists"):
        groupkv.DB(db_path, error_if_exists=True)


def _public_members(cls: type) -> list[str]:
    return [
        n
        for n, v in vars(cls).items()
        if not n.startswith("_") and (callable(v) or inspect.isdatadescriptor(v))
    ]


def test_every_public_class_and_method_has_a_docstring() -> None:
    assert groupkv.__doc__ and groupkv.__doc__.strip()
    for name in groupkv.__all__:
        obj = getattr(groupkv, name)
        if not isinstance(obj, type):
            continue
        assert obj.__doc__ and obj.__doc__.strip(), name
        for member in _public_members(obj):
            doc = getattr(obj, member).__doc__
            assert doc and doc.strip(), f"{name}.{member}"
    for cls in (groupkv.DB, groupkv.PendingBatch):
        for dunder in ("__enter__", "__exit__"):
            assert getattr(cls, dunder).__doc__, f"{cls.__name__}.{dunder}"


def test_empty_batches(db: groupkv.DB) -> None:
    with db.batch() as b:
        pass
    assert len(b) == 0
    db.write(groupkv.WriteBatch(), sync=True)
    assert db.stats()["keys_written"] == 0


def test_batch_context_with_bad_options_raises_at_commit(db: groupkv.DB) -> None:
    with pytest.raises(groupkv.InvalidArgumentError, match="sync"):
        with db.batch(sync=True, disable_wal=True) as b:
            b.put(b"k", b"v")
    assert db.get(b"k") is None
    assert db.latest_sequence() == 0
