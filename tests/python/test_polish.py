"""Issue 15's polish, found by trying the module as a new user would: the mapping protocol's
KeyError, one batch type for db.write, truthy flags, a star import that keeps the builtin
IOError, and stats() after close as in C."""

from __future__ import annotations

import pytest

import groupkv

from conftest import run_python


def test_del_of_a_missing_key_raises_key_error_and_writes_nothing(db: groupkv.DB) -> None:
    with pytest.raises(KeyError) as info:
        del db[b"missing"]
    assert info.value.args == (b"missing",)
    assert db.latest_sequence() == 0  # no tombstone was written
    db[b"present"] = b"v"
    del db[b"present"]
    assert b"present" not in db
    assert db.latest_sequence() == 2
    db.delete(b"missing")  # delete() never raises for an absent key


def test_write_accepts_what_batch_returns(db: groupkv.DB) -> None:
    b = db.batch()
    assert isinstance(b, groupkv.WriteBatch)
    b.put(b"a", b"1")
    b.delete(b"z")
    assert b.records() == [("put", b"a", b"1"), ("delete", b"z", None)]
    db.write(b)
    assert db[b"a"] == b"1"
    assert "committed" in repr(b)
    assert len(b) == 2  # the records stay readable
    with pytest.raises(groupkv.ClosedError, match="already committed"):
        db.write(b)  # never twice
    with pytest.raises(groupkv.ClosedError):
        b.put(b"c", b"3")
    assert db.latest_sequence() == 2


def test_write_inside_the_with_block_commits_once(db: groupkv.DB) -> None:
    with db.batch() as b:
        b.put(b"k", b"v")
        db.write(b, sync=True)
        assert db[b"k"] == b"v"
    assert db.latest_sequence() == 1  # the block's exit wrote nothing more
    stats = db.stats()
    assert stats["wal_syncs"] == 1  # write()'s sync=True applied


def test_written_pending_batch_keeps_its_own_options(db: groupkv.DB) -> None:
    b = db.batch(sync=True)
    b.put(b"k", b"v")
    db.write(b)
    assert db.stats()["wal_syncs"] == 1
    bad = db.batch(disable_wal=True)
    bad.put(b"x", b"y")
    with pytest.raises(groupkv.InvalidArgumentError, match="sync"):
        db.write(bad, sync=True)  # sync + disable_wal: refused, and the batch stays open
    bad.put(b"x2", b"y2")
    db.write(bad)
    assert db[b"x2"] == b"y2"


def test_failed_commit_at_block_exit_discards(db: groupkv.DB) -> None:
    with pytest.raises(groupkv.InvalidArgumentError):
        with db.batch(sync=True, disable_wal=True) as b:
            b.put(b"k", b"v")
    with pytest.raises(groupkv.ClosedError, match="discarded"):
        db.write(b)


@pytest.mark.parametrize("truthy", [1, "yes", [0], object()])
@pytest.mark.parametrize("flag", ["sync", "disable_wal", "no_slowdown"])
def test_write_flags_take_any_truth_value(db: groupkv.DB, flag: str, truthy: object) -> None:
    db.put(b"k", b"v", **{flag: truthy})  # type: ignore[arg-type]
    db.put(b"k2", b"v", **{flag: 0})  # type: ignore[arg-type]
    db.delete(b"k2", **{flag: truthy})  # type: ignore[arg-type]
    batch = groupkv.WriteBatch()
    batch.put(b"b", b"1")
    db.write(batch, **{flag: truthy})  # type: ignore[arg-type]
    with db.batch(**{flag: truthy}) as b:  # type: ignore[arg-type]
        b.put(b"c", b"2")
    assert (db[b"k"], db[b"b"], db[b"c"]) == (b"v", b"1", b"2")
    if flag == "sync":
        assert db.stats()["wal_syncs"] == 4  # the truthy ones synced, the 0 one did not


def test_truthy_sync_with_truthy_disable_wal_is_still_refused(db: groupkv.DB) -> None:
    with pytest.raises(groupkv.InvalidArgumentError, match="sync"):
        db.put(b"k", b"v", sync=1, disable_wal="yes")  # type: ignore[arg-type]


def test_no_slowdown_truthy_gets_incomplete_during_a_stall(db: groupkv.DB) -> None:
    db._set_write_stall_for_test(True)
    try:
        with pytest.raises(groupkv.IncompleteError):
            db.put(b"k", b"v", no_slowdown=1)  # type: ignore[arg-type]
    finally:
        db._set_write_stall_for_test(False)


def test_star_import_keeps_the_builtin_ioerror() -> None:
    result = run_python(
        """
        from groupkv import *
        import groupkv
        assert IOError is OSError, IOError
        assert groupkv.IOError is not OSError and issubclass(groupkv.IOError, OSError)
        assert DB is groupkv.DB and PoisonedError is groupkv.PoisonedError
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_stats_after_close_as_in_c(db: groupkv.DB) -> None:
    db.put(b"k", b"v", sync=True)
    before = db.stats()
    db.close()
    after = db.stats()
    assert after["keys_written"] == 1 and after["wal_syncs"] == before["wal_syncs"]
    assert set(after) == set(before)
    with pytest.raises(groupkv.ClosedError):
        db.get(b"k")
