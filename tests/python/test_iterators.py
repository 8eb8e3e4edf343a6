"""The plyvel-style cursor: both directions, bounds, include flags, prefixes, seeks, the
mapping views, StopIteration at either end, and use after close."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import groupkv

KEYS = [b"a", b"b", b"bb", b"c", b"d"]


@pytest.fixture
def filled(db: groupkv.DB) -> groupkv.DB:
    for k in KEYS:
        db.put(k, k.upper())
    db.put(b"gone", b"x")
    db.delete(b"gone")
    return db


def pairs(keys: list[bytes]) -> list[tuple[bytes, bytes]]:
    return [(k, k.upper()) for k in keys]


def test_forward_and_reverse_scans(filled: groupkv.DB) -> None:
    assert list(filled.iterator()) == pairs(KEYS)
    assert list(filled.iterator(reverse=True)) == pairs(KEYS[::-1])


def test_iter_db_yields_keys_and_views_are_lazy(filled: groupkv.DB) -> None:
    assert list(filled) == KEYS
    assert list(filled.keys()) == KEYS
    assert list(filled.values()) == [k.upper() for k in KEYS]
    assert list(filled.items()) == pairs(KEYS)
    assert list(filled.keys(b"b", b"c")) == [b"b", b"bb"]
    assert list(filled.items(b"bb", reverse=True)) == pairs([b"d", b"c", b"bb"])
    assert list(filled.values(prefix=b"b")) == [b"B", b"BB"]
    # Lazy: a view made before a write does not see it; one made after does.
    keys = filled.keys()
    filled.put(b"e", b"E")
    assert list(keys) == KEYS
    assert list(filled.keys())[-1] == b"e"
    with pytest.raises(TypeError):
        len(filled)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "want"),
    [
        ({"start": b"b"}, [b"b", b"bb", b"c", b"d"]),
        ({"start": b"b", "include_start": False}, [b"bb", b"c", b"d"]),
        ({"stop": b"c"}, [b"a", b"b", b"bb"]),
        ({"stop": b"c", "include_stop": True}, [b"a", b"b", b"bb", b"c"]),
        ({"start": b"ab", "stop": b"ca"}, [b"b", b"bb", b"c"]),
        ({"start": b"b", "stop": b"b"}, []),
        ({"start": b"b", "stop": b"b", "include_stop": True}, [b"b"]),
        ({"start": b"d", "stop": b"a"}, []),
        ({"prefix": b"b"}, [b"b", b"bb"]),
        ({"prefix": b"bb"}, [b"bb"]),
        ({"prefix": b"z"}, []),
        ({"prefix": b""}, KEYS),
    ],
)
def test_bounds_both_directions(
    filled: groupkv.DB, kwargs: dict[str, object], want: list[bytes]
) -> None:
    assert list(filled.iterator(include_value=False, **kwargs)) == want  # type: ignore[call-overload]
    assert list(filled.iterator(include_value=False, reverse=True, **kwargs)) == want[::-1]  # type: ignore[call-overload]


def test_prefix_of_0xff_bytes(db: groupkv.DB) -> None:
    keys = [b"\xfe", b"\xff", b"\xff\x00", b"\xff\xff", b"\xff\xff\x01", b"\xff\xff\xff"]
    for k in keys:
        db.put(k, b"v")
    assert list(db.keys(prefix=b"\xff")) == keys[1:]
    assert list(db.keys(prefix=b"\xff\xff")) == keys[3:]
    assert list(db.keys(prefix=b"\xff\xff", reverse=True)) == keys[3:][::-1]
    assert list(db.keys(prefix=b"\xfe")) == [b"\xfe"]


def test_prefix_with_start_or_stop_is_a_type_error(db: groupkv.DB) -> None:
    with pytest.raises(TypeError):
        db.iterator(prefix=b"a", start=b"a")
    with pytest.raises(TypeError):
        db.iterator(prefix=b"a", stop=b"b")
    with pytest.raises(TypeError):
        db.keys(b"a", prefix=b"a")


def test_include_flags(filled: groupkv.DB) -> None:
    assert list(filled.iterator(include_value=False)) == KEYS
    assert list(filled.iterator(include_key=False)) == [k.upper() for k in KEYS]
    assert list(filled.iterator(include_key=False, include_value=False)) == [None] * len(KEYS)
    # Any truth value works as a flag.
    assert list(filled.iterator(include_value=0, reverse=1)) == KEYS[::-1]  # type: ignore[call-overload]


def test_empty_database(db: groupkv.DB) -> None:
    for reverse in (False, True):
        it = db.iterator(reverse=reverse)
        for _ in range(3):  # repeatable, never a crash
            with pytest.raises(StopIteration):
                next(it)
            with pytest.raises(StopIteration):
                it.prev()
        it.seek(b"x")
        with pytest.raises(StopIteration):
            next(it)
        it.seek_to_stop()
        with pytest.raises(StopIteration):
            it.prev()
    assert list(db) == []


def test_single_entry(db: groupkv.DB) -> None:
    db.put(b"k", b"v")
    it = db.iterator()
    with pytest.raises(StopIteration):
        it.prev()
    assert next(it) == (b"k", b"v")
    for _ in range(3):
        with pytest.raises(StopIteration):
            next(it)
    assert it.prev() == (b"k", b"v")
    for _ in range(3):
        with pytest.raises(StopIteration):
            it.prev()
    assert next(it) == (b"k", b"v")


def test_next_then_prev_return_the_same_entry(filled: groupkv.DB) -> None:
    for reverse in (False, True):
        order = KEYS[::-1] if reverse else KEYS
        it = filled.iterator(reverse=reverse, include_value=False)
        for i, k in enumerate(order):
            assert next(it) == k
            assert it.prev() == k
            assert next(it) == k
            if i > 0:
                assert it.prev() == k
                assert it.prev() == order[i - 1]
                assert next(it) == order[i - 1]
                assert next(it) == k


def test_walk_to_the_end_and_back(filled: groupkv.DB) -> None:
    it = filled.iterator(include_value=False)
    assert [next(it) for _ in KEYS] == KEYS
    with pytest.raises(StopIteration):
        next(it)
    assert [it.prev() for _ in KEYS] == KEYS[::-1]
    with pytest.raises(StopIteration):
        it.prev()
    assert next(it) == b"a"


def test_seek_between_keys(filled: groupkv.DB) -> None:
    it = filled.iterator(include_value=False)
    it.seek(b"ba")  # between b and bb
    assert next(it) == b"bb"
    it.seek(b"ba")
    assert it.prev() == b"b"
    it.seek(b"c")  # exact: next returns it
    assert next(it) == b"c"
    it.seek(b"zz")
    with pytest.raises(StopIteration):
        next(it)
    assert it.prev() == b"d"
    it.seek(b"")
    with pytest.raises(StopIteration):
        it.prev()
    assert next(it) == b"a"

    rev = filled.iterator(reverse=True, include_value=False)
    rev.seek(b"ba")  # the cursor sits between b and bb; reverse next goes down
    assert next(rev) == b"b"
    rev.seek(b"ba")
    assert rev.prev() == b"bb"
    rev.seek(b"c")
    assert next(rev) == b"bb"
    assert rev.prev() == b"bb"
    assert rev.prev() == b"c"
    rev.seek(b"")
    with pytest.raises(StopIteration):
        next(rev)
    assert rev.prev() == b"a"


def test_seek_clamps_to_the_range(filled: groupkv.DB) -> None:
    it = filled.iterator(start=b"b", stop=b"d", include_value=False)
    it.seek(b"a")
    assert next(it) == b"b"
    it.seek(b"e")
    with pytest.raises(StopIteration):
        next(it)
    assert it.prev() == b"c"


def test_seek_to_start_and_stop(filled: groupkv.DB) -> None:
    it = filled.iterator(include_value=False)
    it.seek_to_stop()
    assert it.prev() == b"d"
    it.seek_to_start()
    assert next(it) == b"a"
    rev = filled.iterator(reverse=True, include_value=False)
    rev.seek_to_stop()
    assert rev.prev() == b"a"
    rev.seek_to_start()
    assert next(rev) == b"d"


def test_keys_and_values_of_any_bytes(db: groupkv.DB) -> None:
    db.put(bytearray(b"\x00k"), memoryview(b"\x00v"))
    db.put(b"", b"")
    assert list(db.items()) == [(b"", b""), (b"\x00k", b"\x00v")]
    assert list(db.keys(start=bytearray(b"\x00"))) == [b"\x00k"]
    with pytest.raises(TypeError):
        db.iterator(start="text")  # type: ignore[call-overload]


def test_close_and_context_manager(filled: groupkv.DB) -> None:
    with filled.iterator() as it:
        assert next(it) == (b"a", b"A")
    for op in (lambda: next(it), it.prev, it.seek_to_start, it.seek_to_stop):
        with pytest.raises(groupkv.ClosedError):
            op()
    it.close()  # idempotent


def test_iterator_after_db_close_raises_closed(db_path: Path) -> None:
    db = groupkv.DB(db_path)
    db.put(b"a", b"1")
    db.put(b"b", b"2")
    it = db.iterator()
    assert next(it) == (b"a", b"1")
    snap = db.snapshot()
    db.close()
    for op in (lambda: next(it), it.prev, lambda: it.seek(b"a"), it.seek_to_start):
        with pytest.raises(groupkv.ClosedError):
            op()
    with pytest.raises(groupkv.ClosedError):
        db.iterator()
    with pytest.raises(groupkv.ClosedError):
        iter(db)
    with pytest.raises(groupkv.ClosedError):
        db.keys()
    with pytest.raises(groupkv.ClosedError):
        db.multi_get([b"a"])
    with pytest.raises(groupkv.ClosedError):
        db.property("groupkv.stats")
    with pytest.raises(groupkv.ClosedError):
        db.snapshot()
    with pytest.raises(groupkv.ClosedError):
        snap.get(b"a")
    with pytest.raises(groupkv.ClosedError):
        snap.iterator()
    with pytest.raises(groupkv.ClosedError):
        db.get(b"a", snapshot=snap)
    it.close()
    snap.close()


def test_iterators_consistent_while_writers_run(db_path: Path) -> None:
    """Each scan sees one whole state: writers put pairs (k, k2) in one batch, so every scan
    sees both or neither, across memtable switches and flushes (a 4 KiB buffer)."""
    db = groupkv.DB(db_path, write_buffer_size=4096)
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            i = 0
            while not stop.is_set():
                b = groupkv.WriteBatch()
                b.put(b"w%d-%06d-a" % (t, i), b"x" * 64)
                b.put(b"w%d-%06d-b" % (t, i), b"y" * 64)
                db.write(b)
                i += 1
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(3)]
    for th in threads:
        th.start()
    try:
        scans = 0
        deadline = time.monotonic() + 60
        # At least 30 scans, and enough of them racing memtable switches and flushes.
        while scans < 30 or db.stats()["memtable_switches"] < 3:
            assert time.monotonic() < deadline, "the writers never switched a memtable"
            keys = list(db.keys())
            assert keys == sorted(keys)
            assert len(keys) % 2 == 0
            for a, b in zip(keys[::2], keys[1::2]):
                assert a[:-1] == b[:-1] and a.endswith(b"a") and b.endswith(b"b")
            back = list(db.keys(reverse=True))
            assert len(back) >= len(keys)
            scans += 1
    finally:
        stop.set()
        for th in threads:
            th.join()
        db.close()
    assert not errors
    assert db.stats()["memtable_switches"] >= 3


def test_an_iterator_shared_by_threads_never_hangs(db: groupkv.DB) -> None:
    """An Iterator is not thread-safe, but misuse is an error, not a deadlock: a thread that
    finds it in use by another gets RuntimeError."""
    for i in range(2000):
        db.put(b"k%05d" % i, b"v" * 50)
    it = db.iterator(include_value=False)
    got: list[bytes] = []
    busy: list[int] = []

    def consume() -> None:
        while True:
            try:
                got.append(next(it))
            except StopIteration:
                return
            except RuntimeError:
                busy.append(1)

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
        assert not th.is_alive(), "a thread hung on the iterator"
    assert sorted(got) == [b"k%05d" % i for i in range(2000)]
