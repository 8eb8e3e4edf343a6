"""Type stubs for the groupkv._groupkv extension module (re-exported by groupkv)."""

import os
from types import TracebackType
from typing import (
    Generic,
    Iterable,
    Literal,
    Mapping,
    NoReturn,
    Optional,
    Tuple,
    Type,
    TypedDict,
    TypeVar,
    Union,
    overload,
)

from typing_extensions import Buffer, Self, disjoint_base, final

_T = TypeVar("_T")
_Item = TypeVar("_Item", covariant=True)
_Path = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

class _Histogram(TypedDict):
    count: int
    sum: int
    min: int
    max: int
    mean: float
    p50: float
    p99: float
    p999: float

class _Stats(TypedDict):
    write_done_by_self: int
    write_done_by_other: int
    write_with_wal: int
    wal_syncs: int
    wal_bytes: int
    keys_written: int
    bytes_written: int
    stall_micros: int
    stall_memtable_micros: int
    stall_l0_slowdown_micros: int
    stall_l0_stop_micros: int
    memtable_switches: int
    flushes: int
    flush_bytes: int
    compactions: int
    compaction_bytes_read: int
    compaction_bytes_written: int
    block_cache_hit: int
    block_cache_miss: int
    bloom_useful: int
    memtable_bytes: int
    immutable_memtables: int
    write_group_size: _Histogram
    write_micros: _Histogram
    wal_sync_micros: _Histogram
    num_files_at_level: list[int]
    bytes_at_level: list[int]

__all__ = [
    "__version__",
    "WAL_RECOVERY_MODES",
    "COMPRESSIONS",
    "DEFAULT_OPTIONS",
    "MAX_KEY_VALUE_SIZE",
    "DB",
    "Iterator",
    "PendingBatch",
    "Snapshot",
    "WriteBatch",
    "Error",
    "CorruptionError",
    "InvalidArgumentError",
    "IOError",
    "PoisonedError",
    "BusyError",
    "IncompleteError",
    "ClosedError",
]

__version__: str
WAL_RECOVERY_MODES: list[str]
COMPRESSIONS: list[str]
DEFAULT_OPTIONS: Mapping[str, Union[bool, int, str]]
MAX_KEY_VALUE_SIZE: int

class Error(Exception):
    """Base class of every error groupkv raises."""

class CorruptionError(Error):
    """Stored data (a WAL record, a batch representation) is damaged."""

class InvalidArgumentError(Error, ValueError):
    """groupkv cannot accept an argument. Also a ValueError."""

class IOError(Error, OSError):
    """An operating-system I/O call failed. Also an OSError."""

class PoisonedError(IOError):
    """An earlier WAL write or sync failed; reopen the database. Cause in __cause__."""

class BusyError(Error):
    """The database directory is locked by another open DB."""

class IncompleteError(Error):
    """A no_slowdown write would have had to wait (a write stall)."""

class ClosedError(Error):
    """The DB (or batch) has been closed."""

@final
class DB:
    """An open groupkv database."""

    def __new__(
        cls,
        path: _Path,
        *,
        create_if_missing: bool = ...,
        error_if_exists: bool = ...,
        allow_concurrent_memtable_write: bool = ...,
        enable_pipelined_write: bool = ...,
        max_write_batch_group_size_bytes: int = ...,
        enable_write_thread_adaptive_yield: bool = ...,
        write_thread_max_yield_usec: int = ...,
        write_thread_slow_yield_usec: int = ...,
        wal_recovery_mode: str = ...,
        allow_mmap_writes: bool = ...,
        write_buffer_size: int = ...,
        max_write_buffer_number: int = ...,
        level0_file_num_compaction_trigger: int = ...,
        level0_slowdown_writes_trigger: int = ...,
        level0_stop_writes_trigger: int = ...,
        block_size: int = ...,
        block_restart_interval: int = ...,
        bloom_bits_per_key: int = ...,
        block_cache_size: int = ...,
        max_open_files: int = ...,
        compression: Literal["none", "snappy"] = ...,
        target_file_size_base: int = ...,
        max_bytes_for_level_base: int = ...,
        disable_auto_compactions: bool = ...,
        **unknown_options: NoReturn,
    ) -> Self:
        """Opens (or creates) the database in directory path. Each option not given takes
        the core's default (see DEFAULT_OPTIONS and the class docstring)."""
    @property
    def path(self) -> Union[str, bytes]:
        """The directory, as given to the constructor (after os.fspath)."""
    @property
    def closed(self) -> bool:
        """True once close() has been called."""
    def put(
        self,
        key: Buffer,
        value: Buffer,
        *,
        sync: bool = False,
        disable_wal: bool = False,
        no_slowdown: bool = False,
    ) -> None:
        """Sets key to value."""
    def delete(
        self,
        key: Buffer,
        *,
        sync: bool = False,
        disable_wal: bool = False,
        no_slowdown: bool = False,
    ) -> None:
        """Removes key; removing an absent key is not an error."""
    def write(
        self,
        batch: WriteBatch,  # a PendingBatch from batch() too: writing it commits it
        *,
        sync: bool = False,
        disable_wal: bool = False,
        no_slowdown: bool = False,
    ) -> None:
        """Applies batch atomically."""
    @overload
    def get(
        self, key: Buffer, default: None = None, *, snapshot: Optional[Snapshot] = None
    ) -> Optional[bytes]: ...
    @overload
    def get(
        self, key: Buffer, default: _T, *, snapshot: Optional[Snapshot] = None
    ) -> Union[bytes, _T]: ...
    def multi_get(
        self, keys: Iterable[Buffer], *, snapshot: Optional[Snapshot] = None
    ) -> list[Optional[bytes]]:
        """The values of keys (None when absent), all read at one sequence."""
    @overload
    def iterator(
        self,
        *,
        reverse: bool = False,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        include_start: bool = True,
        include_stop: bool = False,
        prefix: Optional[Buffer] = None,
        include_key: Literal[True] = True,
        include_value: Literal[True] = True,
        snapshot: Optional[Snapshot] = None,
        verify_checksums: bool = True,
        fill_cache: bool = True,
    ) -> Iterator[Tuple[bytes, bytes]]: ...
    @overload
    def iterator(
        self,
        *,
        reverse: bool = False,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        include_start: bool = True,
        include_stop: bool = False,
        prefix: Optional[Buffer] = None,
        include_key: Literal[True] = True,
        include_value: Literal[False],
        snapshot: Optional[Snapshot] = None,
        verify_checksums: bool = True,
        fill_cache: bool = True,
    ) -> Iterator[bytes]: ...
    @overload
    def iterator(
        self,
        *,
        reverse: bool = False,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        include_start: bool = True,
        include_stop: bool = False,
        prefix: Optional[Buffer] = None,
        include_key: Literal[False],
        include_value: Literal[True] = True,
        snapshot: Optional[Snapshot] = None,
        verify_checksums: bool = True,
        fill_cache: bool = True,
    ) -> Iterator[bytes]: ...
    @overload
    def iterator(
        self,
        *,
        reverse: bool = False,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        include_start: bool = True,
        include_stop: bool = False,
        prefix: Optional[Buffer] = None,
        include_key: Literal[False],
        include_value: Literal[False],
        snapshot: Optional[Snapshot] = None,
        verify_checksums: bool = True,
        fill_cache: bool = True,
    ) -> Iterator[None]: ...
    @overload
    def iterator(
        self,
        *,
        reverse: bool = False,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        include_start: bool = True,
        include_stop: bool = False,
        prefix: Optional[Buffer] = None,
        include_key: bool = True,
        include_value: bool = True,
        snapshot: Optional[Snapshot] = None,
        verify_checksums: bool = True,
        fill_cache: bool = True,
    ) -> Iterator[Union[Tuple[bytes, bytes], bytes, None]]: ...
    def __iter__(self) -> Iterator[bytes]:
        """iter(db): the keys in order, lazily."""
    def keys(
        self,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        *,
        reverse: bool = False,
        prefix: Optional[Buffer] = None,
    ) -> Iterator[bytes]:
        """The keys from start (included) to stop (excluded), or with prefix, lazily."""
    def values(
        self,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        *,
        reverse: bool = False,
        prefix: Optional[Buffer] = None,
    ) -> Iterator[bytes]:
        """The values in key order, lazily."""
    def items(
        self,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        *,
        reverse: bool = False,
        prefix: Optional[Buffer] = None,
    ) -> Iterator[Tuple[bytes, bytes]]:
        """The (key, value) pairs in key order, lazily."""
    def snapshot(self) -> Snapshot:
        """A Snapshot of the database as of now."""
    def property(self, name: str) -> Optional[str]:
        """A LevelDB-style property as text, or None for an unknown name."""
    def __getitem__(self, key: Buffer, /) -> bytes:
        """db[key]: the value, or KeyError if absent."""
    def __setitem__(self, key: Buffer, value: Buffer, /) -> None:
        """db[key] = value."""
    def __delitem__(self, key: Buffer, /) -> None:
        """del db[key]: KeyError if absent (costs a read before the delete)."""
    def __contains__(self, key: Buffer, /) -> bool:
        """key in db."""
    def batch(
        self, *, sync: bool = False, disable_wal: bool = False, no_slowdown: bool = False
    ) -> PendingBatch:
        """A batch that commits when its with block exits cleanly."""
    def stats(self) -> _Stats:
        """Every counter, histogram and per-level list since open; works after close."""
    def latest_sequence(self) -> int:
        """The sequence number of the last write visible to readers."""
    def approximate_memory_usage(self) -> int:
        """Approximate bytes of memory held by the in-memory table."""
    def flush(self) -> None:
        """Writes the memtables into level-0 tables and waits until they are in the MANIFEST
        (a no-op for an empty memtable). Releases the GIL while it waits."""
    def compact_range(
        self, start: Optional[Buffer] = None, stop: Optional[Buffer] = None
    ) -> None:
        """Compacts the keys from start to stop, both included (None: unbounded on that side),
        down to the deepest level holding data in the range. Releases the GIL while it works."""
    def close(self) -> None:
        """Closes the database. Idempotent. Raises PoisonedError (once) if an earlier WAL write
        failed: nothing more was written; reopen to recover every acknowledged write."""
    def _set_write_stall_for_test(self, on: bool) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None: ...

@disjoint_base
class WriteBatch:
    """An ordered group of puts and deletes that DB.write applies atomically."""

    def __new__(cls) -> Self: ...
    def put(self, key: Buffer, value: Buffer) -> None:
        """Adds a put."""
    def delete(self, key: Buffer) -> None:
        """Adds a delete."""
    def clear(self) -> None:
        """Removes every record."""
    def __len__(self) -> int: ...
    def approximate_size(self) -> int:
        """The size in bytes of the representation."""
    def records(
        self,
    ) -> list[
        Union[Tuple[Literal["put"], bytes, bytes], Tuple[Literal["delete"], bytes, None]]
    ]:
        """The records in order."""
    def data(self) -> bytes:
        """The LevelDB/RocksDB-compatible representation."""
    @classmethod
    def from_data(cls, data: Buffer) -> WriteBatch:
        """Parses a representation; malformed bytes raise CorruptionError."""
    def __eq__(self, value: object, /) -> bool: ...

@final
class PendingBatch(WriteBatch):
    """A WriteBatch bound to a DB, returned by DB.batch(): commits when its with block exits
    cleanly, or when passed to DB.write."""

    def put(self, key: Buffer, value: Buffer) -> None:
        """Adds a put."""
    def delete(self, key: Buffer) -> None:
        """Adds a delete."""
    def clear(self) -> None:
        """Drops every operation added so far."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None: ...

@final
class Iterator(Generic[_Item]):
    """A cursor standing between entries: next() returns the entry after it and steps over
    it, prev() the entry before it and steps back; StopIteration at either end."""

    def __iter__(self) -> Self: ...
    def __next__(self) -> _Item: ...
    def prev(self) -> _Item:
        """The entry before the cursor; the cursor steps back over it."""
    def seek(self, key: Buffer) -> None:
        """Moves the cursor just before key in key order."""
    def seek_to_start(self) -> None:
        """Moves the cursor before the first entry."""
    def seek_to_stop(self) -> None:
        """Moves the cursor after the last entry."""
    def close(self) -> None:
        """Releases what the iterator holds. Idempotent."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None: ...

@final
class Snapshot:
    """A consistent point-in-time view of a database, from DB.snapshot()."""

    @property
    def sequence(self) -> int:
        """The sequence number this snapshot reads at."""
    @property
    def closed(self) -> bool:
        """True once close() has been called."""
    @overload
    def get(self, key: Buffer, default: None = None) -> Optional[bytes]: ...
    @overload
    def get(self, key: Buffer, default: _T) -> Union[bytes, _T]: ...
    @overload
    def iterator(
        self,
        *,
        reverse: bool = False,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        include_start: bool = True,
        include_stop: bool = False,
        prefix: Optional[Buffer] = None,
        include_key: Literal[True] = True,
        include_value: Literal[True] = True,
        verify_checksums: bool = True,
        fill_cache: bool = True,
    ) -> Iterator[Tuple[bytes, bytes]]: ...
    @overload
    def iterator(
        self,
        *,
        reverse: bool = False,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        include_start: bool = True,
        include_stop: bool = False,
        prefix: Optional[Buffer] = None,
        include_key: Literal[True] = True,
        include_value: Literal[False],
        verify_checksums: bool = True,
        fill_cache: bool = True,
    ) -> Iterator[bytes]: ...
    @overload
    def iterator(
        self,
        *,
        reverse: bool = False,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        include_start: bool = True,
        include_stop: bool = False,
        prefix: Optional[Buffer] = None,
        include_key: Literal[False],
        include_value: Literal[True] = True,
        verify_checksums: bool = True,
        fill_cache: bool = True,
    ) -> Iterator[bytes]: ...
    @overload
    def iterator(
        self,
        *,
        reverse: bool = False,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        include_start: bool = True,
        include_stop: bool = False,
        prefix: Optional[Buffer] = None,
        include_key: Literal[False],
        include_value: Literal[False],
        verify_checksums: bool = True,
        fill_cache: bool = True,
    ) -> Iterator[None]: ...
    @overload
    def iterator(
        self,
        *,
        reverse: bool = False,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        include_start: bool = True,
        include_stop: bool = False,
        prefix: Optional[Buffer] = None,
        include_key: bool = True,
        include_value: bool = True,
        verify_checksums: bool = True,
        fill_cache: bool = True,
    ) -> Iterator[Union[Tuple[bytes, bytes], bytes, None]]: ...
    def keys(
        self,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        *,
        reverse: bool = False,
        prefix: Optional[Buffer] = None,
    ) -> Iterator[bytes]:
        """The keys from start (included) to stop (excluded), or with prefix, lazily."""
    def values(
        self,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        *,
        reverse: bool = False,
        prefix: Optional[Buffer] = None,
    ) -> Iterator[bytes]:
        """The values in key order, lazily."""
    def items(
        self,
        start: Optional[Buffer] = None,
        stop: Optional[Buffer] = None,
        *,
        reverse: bool = False,
        prefix: Optional[Buffer] = None,
    ) -> Iterator[Tuple[bytes, bytes]]:
        """The (key, value) pairs in key order, lazily."""
    def close(self) -> None:
        """Releases the snapshot. Idempotent."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None: ...
