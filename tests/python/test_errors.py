"""Every error: its class, its place in the tree, its message."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

import groupkv

from conftest import run_python


def test_exception_tree() -> None:
    assert issubclass(groupkv.Error, Exception)
    for cls in (
        groupkv.CorruptionError,
        groupkv.InvalidArgumentError,
        groupkv.IOError,
        groupkv.PoisonedError,
        groupkv.BusyError,
        groupkv.IncompleteError,
        groupkv.ClosedError,
    ):
        assert issubclass(cls, groupkv.Error), cls
        assert cls.__module__ == "groupkv"
        assert cls.__doc__
    assert issubclass(groupkv.InvalidArgumentError, ValueError)
    assert issubclass(groupkv.IOError, OSError)
    assert issubclass(groupkv.PoisonedError, groupkv.IOError)
    assert groupkv.IOError is not OSError  # the package's own class, not the builtin alias
    for cls in (groupkv.CorruptionError, groupkv.BusyError, groupkv.ClosedError):
        assert not issubclass(cls, (ValueError, OSError))


def test_corruption_error_from_malformed_batch() -> None:
    with pytest.raises(groupkv.CorruptionError, match="^corruption: ") as info:
        groupkv.WriteBatch.from_data(b"short")
    assert "header" in str(info.value)
    good = groupkv.WriteBatch()
    good.put(b"key", b"value")
    raw = good.data()
    for bad in (
        raw[:-1],  # truncated value
        raw[:12] + b"\x07" + raw[13:],  # unknown tag
        raw[:8] + b"\x05\x00\x00\x00" + raw[12:],  # count says 5, one record present
        raw + b"\x01",  # trailing garbage
        raw[:13] + b"\xff\xff\xff\xff\xff" + raw[14:],  # overlong varint
    ):
        with pytest.raises(groupkv.CorruptionError):
            groupkv.WriteBatch.from_data(bad)


def test_invalid_argument_errors(db_path: Path) -> None:
    with pytest.raises(groupkv.InvalidArgumentError, match="unknown WAL recovery mode"):
        groupkv.DB(db_path, wal_recovery_mode="yolo")
    with pytest.raises(ValueError, match="unknown option.*sycn"):
        groupkv.DB(db_path, sycn=True)  # type: ignore[arg-type]
    with pytest.raises(groupkv.InvalidArgumentError, match="max_write_batch_group_size_bytes"):
        groupkv.DB(db_path, max_write_batch_group_size_bytes=0)
    with pytest.raises(groupkv.InvalidArgumentError, match="max_write_batch_group_size_bytes"):
        groupkv.DB(db_path, max_write_batch_group_size_bytes=2**32)
    with pytest.raises(groupkv.InvalidArgumentError, match="must not be negative"):
        groupkv.DB(db_path, max_write_batch_group_size_bytes=-1)
    with pytest.raises(TypeError, match="int"):
        groupkv.DB(db_path, write_thread_max_yield_usec="10")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        groupkv.DB(db_path, wal_recovery_mode=3)  # type: ignore[arg-type]
    assert not db_path.exists()  # nothing was created by a refused open
    with groupkv.DB(db_path) as db:
        with pytest.raises(groupkv.InvalidArgumentError, match="sync"):
            db.put(b"k", b"v", sync=True, disable_wal=True)
        with pytest.raises(ValueError):
            db.delete(b"k", sync=True, disable_wal=True)
        assert db.latest_sequence() == 0


def test_wrong_argument_types(db: groupkv.DB) -> None:
    with pytest.raises(TypeError, match=r"key must be bytes-like.*not str.*encode"):
        db.put("k", b"v")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"value must be bytes-like.*encode"):
        db.put(b"k", "v")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="encode"):
        db.get("k")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="encode"):
        db["k"]  # type: ignore[index]
    with pytest.raises(TypeError, match="encode"):
        "k" in db  # type: ignore[operator]
    for bad in (1, None, 1.5, ["k"]):
        with pytest.raises(TypeError, match="bytes-like"):
            db.put(bad, b"v")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="contiguous"):
        db.put(memoryview(b"abcdef")[::2], b"v")
    with pytest.raises(TypeError):
        db.write(b"raw bytes")  # type: ignore[arg-type]
    batch = groupkv.WriteBatch()
    with pytest.raises(TypeError, match="encode"):
        batch.put("k", b"v")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="encode"):
        groupkv.WriteBatch.from_data("raw")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        groupkv.DB(42)  # type: ignore[arg-type]
    assert len(batch) == 0
    assert db.latest_sequence() == 0


def test_busy_error_in_the_same_process(db: groupkv.DB) -> None:
    with pytest.raises(groupkv.BusyError, match="locked by another open DB"):
        groupkv.DB(db.path)
    db.put(b"still", b"works")
    assert db[b"still"] == b"works"


def test_busy_error_from_another_process(db: groupkv.DB) -> None:
    db.put(b"k", b"v", sync=True)
    child = run_python(
        """
        import sys, groupkv
        try:
            groupkv.DB(sys.argv[1])
        except groupkv.BusyError as e:
            print("BusyError", e)
        else:
            print("opened")
        """,
        str(db.path),
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.startswith("BusyError database "), child.stdout
    db.close()
    # Once the parent closes, the other process may open it.
    child = run_python(
        "import sys, groupkv\nwith groupkv.DB(sys.argv[1]) as db: print(db[b'k'])",
        str(db.path),
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "b'v'"


def test_io_error_is_an_oserror_with_errno(tmp_path: Path) -> None:
    afile = tmp_path / "a-file"
    afile.write_bytes(b"")
    with pytest.raises(groupkv.IOError) as info:
        groupkv.DB(afile / "db")  # a path through a regular file
    err = info.value
    assert isinstance(err, OSError)
    assert err.errno == errno.ENOTDIR
    assert err.strerror == os.strerror(errno.ENOTDIR)
    assert str(err).startswith("I/O error while ")
    assert str(afile / "db") in str(err)
    assert "Not a directory" in str(err)


def test_incomplete_error_for_no_slowdown_during_stall(db: groupkv.DB) -> None:
    db._set_write_stall_for_test(True)
    try:
        with pytest.raises(groupkv.IncompleteError, match="no_slowdown"):
            db.put(b"k", b"v", no_slowdown=True)
        # A normal write waits out the stall (with the GIL released) and then succeeds.
        done = threading.Event()

        def wait_out_stall() -> None:
            db.put(b"k", b"w")
            done.set()

        waiter = threading.Thread(target=wait_out_stall)
        waiter.start()
        time.sleep(0.2)
        assert not done.is_set()
    finally:
        db._set_write_stall_for_test(False)
    waiter.join(timeout=10)
    assert done.is_set()
    assert db[b"k"] == b"w"
    assert isinstance(db.stats()["stall_micros"], int)


def test_closed_error_for_every_call_after_close(db: groupkv.DB) -> None:
    db.put(b"k", b"v")
    batch = groupkv.WriteBatch()
    batch.put(b"a", b"b")
    db.close()
    calls: list[Callable[[], object]] = [
        lambda: db.put(b"k", b"v"),
        lambda: db.get(b"k"),
        lambda: db.delete(b"k"),
        lambda: db.write(batch),
        lambda: db[b"k"],
        lambda: db.__setitem__(b"k", b"v"),
        lambda: db.__delitem__(b"k"),
        lambda: b"k" in db,
        lambda: db.batch(),
        lambda: db.latest_sequence(),
        lambda: db.approximate_memory_usage(),
    ]
    for call in calls:
        with pytest.raises(groupkv.ClosedError, match="closed"):
            call()
    # As in C (groupkv_db_stats works after close): the figures as of the close.
    assert db.stats()["keys_written"] == 1
    db.close()  # still idempotent


def test_pending_batch_on_a_db_closed_meanwhile(db: groupkv.DB) -> None:
    with pytest.raises(groupkv.ClosedError):
        with db.batch() as b:
            b.put(b"k", b"v")
            db.close()


def test_poisoned_error_after_a_failed_wal_write(tmp_path: Path) -> None:
    # A file-size limit makes the WAL append fail with EFBIG in a child process: the failing
    # write raises IOError, every later write PoisonedError (caused by that IOError), and a
    # reopen recovers every acknowledged write.
    child = run_python(
        """
        import resource, signal, sys, groupkv
        db = groupkv.DB(sys.argv[1])
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
        acked = 0
        try:
            for i in range(10_000):
                db.put(b"k%05d" % i, b"x" * 1000, sync=True)
                acked += 1
        except groupkv.IOError as e:
            print("first", type(e).__name__, e.errno, acked)
        try:
            db.put(b"after", b"v")
        except groupkv.PoisonedError as e:
            print("then", type(e).__name__, type(e.__cause__).__name__, e.__cause__.errno)
            print("message", e)
        try:
            db.close()
        except groupkv.PoisonedError as e:
            print("close", type(e).__name__)
        db.close()  # idempotent: the second close is quiet
        """,
        str(tmp_path / "db"),
    )
    assert child.returncode == 0, child.stderr
    lines = dict(line.split(" ", 1) for line in child.stdout.splitlines())
    kind, err_no, acked_s = lines["first"].split()
    assert kind == "IOError" and int(err_no) == errno.EFBIG
    assert lines["then"].split() == ["PoisonedError", "IOError", str(errno.EFBIG)]
    # Close writes nothing after the failure and says so.
    assert lines["close"] == "PoisonedError"
    assert "reopen" in lines["message"]
    acked = int(acked_s)
    assert acked > 10
    with groupkv.DB(tmp_path / "db") as db:
        for i in range(acked):
            assert db.get(b"k%05d" % i) == b"x" * 1000, i
        assert db.get(b"after") is None


def test_permission_denied(tmp_path: Path) -> None:
    # Permission bits do not stop root, so as root the open runs in a child that drops to the
    # unprivileged "nobody" user first.
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    if os.geteuid() != 0:
        private.chmod(0o500)
        try:
            with pytest.raises(groupkv.IOError) as info:
                groupkv.DB(private / "db")
            assert info.value.errno == errno.EACCES
        finally:
            private.chmod(0o700)
        return
    child = run_python(
        """
        import os, sys
        import groupkv  # before dropping privileges: the checkout may be private to root
        os.setgid(65534)
        os.setuid(65534)
        try:
            groupkv.DB(sys.argv[1])
        except groupkv.IOError as e:
            print(type(e).__name__, e.errno)
        """,
        str(private / "db"),
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["IOError", str(errno.EACCES)]
    assert not (private / "db").exists()
