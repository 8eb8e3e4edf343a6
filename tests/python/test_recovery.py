"""Reopen and recovery: what a reopened database holds, and how each WAL recovery mode treats a
damaged or torn log (RocksDB's semantics)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import groupkv
from conftest import run_python

N = 10
VALUE = b"v" * 100
# Records larger than a 32 KiB WAL block, so each spans blocks.
BIG = b"B" * 40_000


def make_log(path: Path, value: bytes = VALUE) -> tuple[Path, list[int]]:
    """Writes N synced puts (one WAL record each) in a process that then dies without closing
    (a clean close would fold the WAL into a base); returns the WAL and the offset at which
    each record starts."""
    child = run_python(
        """
        import os, sys, groupkv
        db = groupkv.DB(sys.argv[1])
        value = bytes.fromhex(sys.argv[2])
        for i in range(int(sys.argv[3])):
            db.put(b"k%d" % i, value, sync=True)
            print(db.stats()["wal_bytes"], flush=True)
        os._exit(0)
        """,
        str(path),
        value.hex(),
        str(N),
    )
    assert child.returncode == 0, child.stderr
    offsets = [int(line) for line in child.stdout.split()]
    logs = sorted(path.glob("*.log"))
    assert len(logs) == 1, list(path.iterdir())
    raw = logs[0].read_bytes()
    # A WAL opens with a marker record (the next sequence), which wal_bytes does not count:
    # the puts' records start after it (7-byte header + its little-endian 16-bit length).
    marker = 7 + int.from_bytes(raw[4:6], "little")
    ends = [marker] + [marker + o for o in offsets]
    # The records, then the zeroed space the WAL writer allocates ahead of them.
    assert len(raw) >= ends[-1] and not any(raw[ends[-1]:])
    return logs[0], ends[:-1]


def present(path: Path, mode: str, value: bytes = VALUE) -> list[int]:
    with groupkv.DB(path, create_if_missing=False, wal_recovery_mode=mode) as db:
        return [i for i in range(N) if db.get(b"k%d" % i) == value]


def test_reopen_keeps_everything(db_path: Path) -> None:
    with groupkv.DB(db_path) as db:
        for i in range(100):
            db.put(b"k%03d" % i, b"v%d" % i, sync=(i % 2 == 0))
        db.delete(b"k050")
        batch = groupkv.WriteBatch()
        batch.put(b"batch", b"whole")
        batch.delete(b"k051")
        db.write(batch)
        db.put(b"nowal", b"kept by close", disable_wal=True)
        seq = db.latest_sequence()
    for _ in range(3):  # reopening repeatedly changes nothing
        with groupkv.DB(db_path, create_if_missing=False) as db:
            assert db.latest_sequence() == seq
            assert db.get(b"k050") is None and db.get(b"k051") is None
            assert db[b"k099"] == b"v99"
            assert db[b"batch"] == b"whole"
            assert db[b"nowal"] == b"kept by close"
            assert sum(1 for i in range(100) if b"k%03d" % i in db) == 98


def damage(path: Path, value: bytes = VALUE) -> Path:
    log, offsets = make_log(path, value)
    raw = bytearray(log.read_bytes())
    raw[offsets[4] + 40] ^= 0x40  # inside record 4's payload: its checksum no longer matches
    log.write_bytes(bytes(raw))
    return path


@pytest.fixture
def damaged_middle(tmp_path: Path) -> Path:
    return damage(tmp_path / "db")


@pytest.mark.parametrize("value", [VALUE, BIG], ids=["small-records", "block-spanning"])
def test_checksum_damage_in_the_middle(tmp_path: Path, value: bytes) -> None:
    damaged = damage(tmp_path / "db", value)
    copies = {}
    for mode in groupkv.WAL_RECOVERY_MODES:
        copies[mode] = tmp_path / mode
        shutil.copytree(damaged, copies[mode])
    for mode in ("absolute_consistency", "tolerate_corrupted_tail_records"):
        with pytest.raises(groupkv.CorruptionError):
            groupkv.DB(copies[mode], wal_recovery_mode=mode)
    # point_in_time stops at the damage: a prefix, never a hole.
    assert present(copies["point_in_time"], "point_in_time", value) == [0, 1, 2, 3]
    # skip_any_corrupted_records goes on after the damage. As in LevelDB/RocksDB, a checksum
    # mismatch discards the rest of its 32 KiB block (the length field cannot be trusted), so
    # with small records everything after record 4 in that block is lost too; with
    # block-spanning records only record 4 is.
    salvaged = present(copies["skip_any_corrupted_records"], "skip_any_corrupted_records", value)
    if value is BIG:
        assert salvaged == [i for i in range(N) if i != 4]
    else:
        assert salvaged == [0, 1, 2, 3]


def test_recovered_point_in_time_state_is_stable(damaged_middle: Path) -> None:
    assert present(damaged_middle, "point_in_time") == [0, 1, 2, 3]
    with groupkv.DB(damaged_middle) as db:
        db.put(b"new", b"write", sync=True)
    # The damage is not replayed again, even by the strictest mode, and new writes persist.
    with groupkv.DB(damaged_middle, wal_recovery_mode="absolute_consistency") as db:
        assert [i for i in range(N) if b"k%d" % i in db] == [0, 1, 2, 3]
        assert db[b"new"] == b"write"


def test_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "db"
    log, offsets = make_log(path)
    with open(log, "r+b") as f:
        f.truncate(offsets[-1] + 60)  # the last record is cut in half, as by a crash
    for mode in groupkv.WAL_RECOVERY_MODES:
        copy = tmp_path / mode
        shutil.copytree(path, copy)
        if mode == "absolute_consistency":
            with pytest.raises(groupkv.CorruptionError):
                groupkv.DB(copy, wal_recovery_mode=mode)
        else:
            assert present(copy, mode) == list(range(N - 1)), mode


def test_garbage_file_names_are_ignored_and_data_survives(tmp_path: Path) -> None:
    path = tmp_path / "db"
    make_log(path)
    (path / "README").write_text("not ours")
    assert present(path, "point_in_time") == list(range(N))
    assert (path / "README").read_text() == "not ours"
