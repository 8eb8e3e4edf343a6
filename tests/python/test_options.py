"""Every keyword option of groupkv.DB: accepted, its default (one source: the core), and the
error a bad value gets (the type, and a message naming the option)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Union

import pytest

import groupkv

HEADER = Path(__file__).resolve().parents[2] / "include" / "groupkv.h"

# A valid non-default value for each option (small sizes, as the tests of the engine use).
ACCEPTED: dict[str, Union[bool, int, str]] = {
    "create_if_missing": True,
    "error_if_exists": False,
    "allow_concurrent_memtable_write": False,
    "enable_pipelined_write": True,
    "max_write_batch_group_size_bytes": 4096,
    "enable_write_thread_adaptive_yield": False,
    "write_thread_max_yield_usec": 10,
    "write_thread_slow_yield_usec": 1,
    "wal_recovery_mode": "absolute_consistency",
    "allow_mmap_writes": False,
    "write_buffer_size": 64 * 1024,
    "max_write_buffer_number": 3,
    "level0_file_num_compaction_trigger": 2,
    "level0_slowdown_writes_trigger": 8,
    "level0_stop_writes_trigger": 40,
    "block_size": 1024,
    "block_restart_interval": 4,
    "bloom_bits_per_key": 0,
    "block_cache_size": 0,
    "max_open_files": 20,
    "compression": "snappy",
    "target_file_size_base": 1 << 20,
    "max_bytes_for_level_base": 1 << 22,
    "disable_auto_compactions": True,
}

# Values the core refuses at open: each must name its option.
OUT_OF_RANGE: list[tuple[str, Union[int, str]]] = [
    ("max_write_batch_group_size_bytes", 0),
    ("max_write_batch_group_size_bytes", 2**32),
    ("write_buffer_size", 0),
    ("write_buffer_size", 4095),
    ("max_write_buffer_number", 1),
    ("level0_file_num_compaction_trigger", 0),
    ("level0_slowdown_writes_trigger", 3),
    ("level0_stop_writes_trigger", 19),
    ("block_size", 0),
    ("block_size", 2**30 + 1),
    ("block_restart_interval", 0),
    ("bloom_bits_per_key", 1001),
    ("bloom_bits_per_key", 2**32),
    ("max_open_files", 19),
    ("target_file_size_base", 100),
    ("max_bytes_for_level_base", 100),
    ("compression", "zstd"),
    ("wal_recovery_mode", "optimistic"),
]

INT_OPTIONS = [n for n, v in groupkv.DEFAULT_OPTIONS.items() if type(v) is int]
BOOL_OPTIONS = [n for n, v in groupkv.DEFAULT_OPTIONS.items() if type(v) is bool]


def test_signature_and_default_options_list_the_same_options() -> None:
    params = inspect.signature(groupkv.DB).parameters
    keywords = [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert keywords == list(groupkv.DEFAULT_OPTIONS)
    assert set(ACCEPTED) == set(groupkv.DEFAULT_OPTIONS)
    with pytest.raises(TypeError):
        groupkv.DEFAULT_OPTIONS["write_buffer_size"] = 1  # type: ignore[index]


def test_defaults_are_the_documented_ones() -> None:
    # The numbers (RocksDB's and LevelDB's defaults).
    d = groupkv.DEFAULT_OPTIONS
    assert d["write_buffer_size"] == 64 << 20
    assert d["max_write_buffer_number"] == 2
    assert (
        d["level0_file_num_compaction_trigger"],
        d["level0_slowdown_writes_trigger"],
        d["level0_stop_writes_trigger"],
    ) == (4, 20, 36)
    assert (d["block_size"], d["block_restart_interval"]) == (4096, 16)
    assert d["bloom_bits_per_key"] == 10
    assert d["block_cache_size"] == 8 << 20
    assert d["max_open_files"] == 1000
    assert d["compression"] == "none"
    assert d["target_file_size_base"] == 64 << 20
    assert d["max_bytes_for_level_base"] == 256 << 20
    assert d["disable_auto_compactions"] is False
    assert d["wal_recovery_mode"] == "point_in_time"
    assert d["create_if_missing"] is True and d["allow_mmap_writes"] is False


def _header_default(token: str) -> Union[bool, int, str]:
    if token in ("true", "false"):
        return token == "true"
    if token.startswith("GROUPKV_WAL_"):
        return token[len("GROUPKV_WAL_") :].lower()
    named = {"GROUPKV_NO_COMPRESSION": "none", "GROUPKV_SNAPPY_COMPRESSION": "snappy"}
    return named[token] if token in named else int(token)


@pytest.mark.skipif(not HEADER.exists(), reason="needs the source tree's include/groupkv.h")
def test_python_defaults_equal_the_c_headers() -> None:
    # tests/api_docs.rs checks the header's documented defaults against Options::default(),
    # so Python == C == Rust.
    header = HEADER.read_text()
    found: dict[str, Union[bool, int, str]] = {}
    declared = r"/\*\*((?:(?!\*/).)*)\*/\s*\n[^\n]*groupkv_options_set_(\w+)\("
    for doc, name in re.findall(declared, header, re.S):
        m = re.search(r"\(default\s+([^,)\s]+)", re.sub(r"\n\s*\*", " ", doc))
        assert m, name
        found[name] = _header_default(m.group(1))
    assert found == dict(groupkv.DEFAULT_OPTIONS)


def test_docstring_states_each_default() -> None:
    doc = groupkv.DB.__doc__ or ""
    stated = dict(re.findall(r"^\s*- ``(\w+)`` \(([^)= ]+)", doc, re.M))
    assert set(stated) == set(groupkv.DEFAULT_OPTIONS)
    for name, value in groupkv.DEFAULT_OPTIONS.items():
        want = f'"{value}"' if isinstance(value, str) else repr(value)
        assert stated[name] == want, name


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_each_option_is_accepted(db_path: Path, name: str) -> None:
    kwargs = {name: ACCEPTED[name]}
    with groupkv.DB(db_path, **kwargs) as db:  # type: ignore[arg-type]
        for i in range(200):
            db.put(b"k%03d" % i, b"v" * 100, sync=i % 50 == 0)
    with groupkv.DB(db_path) as db:
        assert all(db[b"k%03d" % i] == b"v" * 100 for i in range(200))


def test_every_option_at_once(db_path: Path) -> None:
    with groupkv.DB(db_path, **ACCEPTED) as db:  # type: ignore[arg-type]
        db.put(b"k", b"v")
    with groupkv.DB(db_path, **groupkv.DEFAULT_OPTIONS) as db:  # type: ignore[arg-type]
        assert db[b"k"] == b"v"


@pytest.mark.parametrize(("name", "value"), OUT_OF_RANGE)
def test_out_of_range_value_names_the_option(
    db_path: Path, name: str, value: Union[int, str]
) -> None:
    with pytest.raises(groupkv.InvalidArgumentError, match=name) as info:
        groupkv.DB(db_path, **{name: value})  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert not db_path.exists()  # refused before anything was created


@pytest.mark.parametrize("name", INT_OPTIONS)
def test_int_option_of_wrong_type_is_a_type_error(db_path: Path, name: str) -> None:
    for bad in ("4096", 4096.0, True, None):
        with pytest.raises(TypeError, match=name):
            groupkv.DB(db_path, **{name: bad})  # type: ignore[arg-type]
    assert not db_path.exists()


@pytest.mark.parametrize("name", INT_OPTIONS)
def test_negative_int_option_is_a_value_error(db_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} is -1; it must not be negative"):
        groupkv.DB(db_path, **{name: -1})  # type: ignore[arg-type]
    with pytest.raises(groupkv.InvalidArgumentError, match=name):
        groupkv.DB(db_path, **{name: 2**64})  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["compression", "wal_recovery_mode"])
def test_name_option_of_wrong_type_is_a_type_error(db_path: Path, name: str) -> None:
    with pytest.raises(TypeError, match=name):
        groupkv.DB(db_path, **{name: 1})  # type: ignore[arg-type]


def test_compressions_constant_and_both_kinds_read_back(db_path: Path) -> None:
    assert groupkv.COMPRESSIONS == ["none", "snappy"]
    for kind in groupkv.COMPRESSIONS:
        with groupkv.DB(db_path, compression=kind) as db:  # type: ignore[arg-type]
            db.put(kind.encode(), b"x" * 1000)
    with groupkv.DB(db_path) as db:
        assert db[b"none"] == db[b"snappy"] == b"x" * 1000


@pytest.mark.parametrize("name", BOOL_OPTIONS)
def test_bool_options_take_any_truth_value(db_path: Path, name: str) -> None:
    # Python's convention for flags: 0/1, "", [] ... by truth value.
    if name == "error_if_exists":
        groupkv.DB(db_path, error_if_exists=0).close()  # type: ignore[arg-type]
        with pytest.raises(groupkv.InvalidArgumentError, match="error_if_exists"):
            groupkv.DB(db_path, error_if_exists=1)  # type: ignore[arg-type]
    elif name == "create_if_missing":
        with pytest.raises(groupkv.InvalidArgumentError, match="create_if_missing"):
            groupkv.DB(db_path, create_if_missing=[])  # type: ignore[arg-type]
        groupkv.DB(db_path, create_if_missing="yes").close()  # type: ignore[arg-type]
    else:
        for value in (1, 0, "", "x", None):
            with groupkv.DB(db_path, **{name: value}) as db:  # type: ignore[arg-type]
                db.put(b"k", b"v")


def test_unknown_option_lists_the_known_ones(db_path: Path) -> None:
    with pytest.raises(groupkv.InvalidArgumentError, match="write_buffer_sise") as info:
        groupkv.DB(db_path, write_buffer_sise=1 << 20)  # type: ignore[arg-type]
    for name in groupkv.DEFAULT_OPTIONS:
        assert name in str(info.value)
