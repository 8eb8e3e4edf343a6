"""Bad input gets a clear error, never a crash, and loses nothing already acknowledged."""

from __future__ import annotations

import errno
import mmap
import os
from pathlib import Path
from typing import Iterator

import pytest

import groupkv

LIMIT = groupkv.MAX_KEY_VALUE_SIZE  # 2**32 - 1


def test_empty_keys_and_values_are_ordinary_data(db_path: Path) -> None:
    with groupkv.DB(db_path) as db:
        assert db.get(b"") is None
        db.put(b"", b"", sync=True)
        assert db.get(b"") == b""  # present and empty, not absent
        assert b"" in db
        db.put(b"k", b"")
        batch = groupkv.WriteBatch()
        batch.put(b"", b"batched")
        batch.put(b"e", bytearray())
        db.write(batch)
        assert groupkv.WriteBatch.from_data(batch.data()).records() == batch.records()
    with groupkv.DB(db_path) as db:
        assert db[b""] == b"batched"
        assert db[b"k"] == b""
        assert db[b"e"] == b""
        del db[b""]
        assert b"" not in db


@pytest.fixture(scope="module")
def huge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[memoryview]:
    """A 4 GiB read-only buffer (one byte over the limit) that costs no memory: an mmap of a
    sparse file. Nothing may copy it before checking its length."""
    path = tmp_path_factory.mktemp("huge") / "sparse"
    with open(path, "wb") as f:
        f.truncate(LIMIT + 1)
    with open(path, "rb") as f:
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    view = memoryview(m)
    try:
        yield view
    finally:
        view.release()
        m.close()
        path.unlink()


def test_oversized_value_is_rejected_not_truncated(db: groupkv.DB, huge: memoryview) -> None:
    assert len(huge) == LIMIT + 1
    db.put(b"k", b"before", sync=True)
    with pytest.raises(groupkv.InvalidArgumentError, match="value") as info:
        db.put(b"k", huge)
    assert str(LIMIT + 1) in str(info.value) or "4 GiB" in str(info.value)
    with pytest.raises(groupkv.InvalidArgumentError, match="key"):
        db.put(huge, b"v")
    with pytest.raises(groupkv.InvalidArgumentError):
        db.delete(huge)
    batch = groupkv.WriteBatch()
    batch.put(b"a", b"1")
    with pytest.raises(groupkv.InvalidArgumentError):
        batch.put(b"k", huge)
    with pytest.raises(groupkv.InvalidArgumentError):
        batch.delete(huge)
    assert batch.records() == [("put", b"a", b"1")]  # unchanged by the refused records
    with pytest.raises(groupkv.InvalidArgumentError):
        with db.batch() as b:
            b.put(b"x", b"y")
            b.put(b"k", huge)
    assert db.get(b"x") is None  # the failing with-block discarded its batch
    # Nothing was written, nothing was truncated, and the database still works.
    assert db[b"k"] == b"before"
    assert db.latest_sequence() == 1
    db.put(b"k", b"after")
    assert db[b"k"] == b"after"


def test_lengths_in_untrusted_batch_data_are_checked() -> None:
    # A put whose varint key length claims 4 GiB - 1 bytes in a 20-byte batch.
    raw = bytes(8) + b"\x01\x00\x00\x00" + b"\x01" + b"\xff\xff\xff\xff\x0f" + b"k"
    with pytest.raises(groupkv.CorruptionError):
        groupkv.WriteBatch.from_data(raw)
    # A count of 2**32 - 1 records with none present.
    with pytest.raises(groupkv.CorruptionError):
        groupkv.WriteBatch.from_data(bytes(8) + b"\xff\xff\xff\xff")


def test_missing_directory_without_create_if_missing(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "parent" / "db"
    with pytest.raises(groupkv.InvalidArgumentError, match="does not exist") as info:
        groupkv.DB(target, create_if_missing=False)
    assert str(target) in str(info.value)
    assert not (tmp_path / "no").exists()
    # With create_if_missing (the default) the missing parents are created.
    with groupkv.DB(target) as db:
        db.put(b"k", b"v")
    assert target.is_dir()


def test_a_file_where_a_directory_is_expected(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_bytes(b"not a database")
    for create in (True, False):
        with pytest.raises(groupkv.InvalidArgumentError, match="not a directory"):
            groupkv.DB(afile, create_if_missing=create)
    with pytest.raises(groupkv.IOError) as info:
        groupkv.DB(afile / "db")
    assert info.value.errno == errno.ENOTDIR
    assert afile.read_bytes() == b"not a database"


def test_non_utf8_bytes_path(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/db-\xff\xfe-not-utf8"
    with groupkv.DB(raw) as db:
        assert db.path == raw
        db.put(b"k", b"v", sync=True)
    assert os.path.isdir(raw)
    # The same name as a surrogate-escaped str reaches the same directory.
    as_str = os.fsdecode(raw)
    assert "\udcff" in as_str
    with groupkv.DB(as_str, create_if_missing=False) as db:
        assert db[b"k"] == b"v"


def test_degenerate_paths(tmp_path: Path) -> None:
    with pytest.raises(groupkv.InvalidArgumentError, match="empty"):
        groupkv.DB("")
    with pytest.raises(groupkv.InvalidArgumentError, match="NUL"):
        groupkv.DB(str(tmp_path / "a\0b"))
    with pytest.raises(groupkv.InvalidArgumentError, match="NUL"):
        groupkv.DB(os.fsencode(tmp_path) + b"/a\0b")
    assert list(tmp_path.iterdir()) == []


def test_second_open_in_process_does_not_disturb_the_first(db: groupkv.DB) -> None:
    db.put(b"k", b"v", sync=True)
    for _ in range(3):
        with pytest.raises(groupkv.BusyError):
            groupkv.DB(db.path)
    db.put(b"k2", b"v2", sync=True)
    db.close()
    with groupkv.DB(db.path) as again:
        assert again[b"k"] == b"v" and again[b"k2"] == b"v2"
