"""groupkv: an embedded, persistent key-value store built around RocksDB's write path.

Many threads write at once; one of them becomes the leader of a *write group* and commits the
whole group with one write-ahead-log append and at most one ``fdatasync``. Python threads take
part: every call that may wait releases the GIL.

>>> import groupkv, tempfile
>>> with groupkv.DB(tempfile.mkdtemp()) as db:
...     db.put(b"k", b"v", sync=True)
...     db.get(b"k")
b'v'

Durability when a write returns: ``sync=True`` survives power loss; the default survives a
process crash; ``disable_wal=True`` survives only a clean ``close()``. A batch is applied whole
or not at all.

Options are keywords of ``groupkv.DB(...)``; ``groupkv.DEFAULT_OPTIONS`` holds the default of
each, read from the core.

Errors are ``groupkv.Error`` subclasses: ``CorruptionError``, ``InvalidArgumentError`` (also a
``ValueError``), ``groupkv.IOError`` (also an ``OSError``) and its subclass ``PoisonedError``
(an earlier log write failed: reopen the database), ``BusyError``, ``IncompleteError`` and
``ClosedError``. ``groupkv.IOError`` is not in ``__all__``, so ``from groupkv import *`` does
not shadow the builtin ``IOError`` (an alias of ``OSError``, which it subclasses).
"""

from ._groupkv import (
    COMPRESSIONS,
    DB,
    DEFAULT_OPTIONS,
    MAX_KEY_VALUE_SIZE,
    WAL_RECOVERY_MODES,
    BusyError,
    ClosedError,
    CorruptionError,
    Error,
    IncompleteError,
    InvalidArgumentError,
    PendingBatch,
    PoisonedError,
    WriteBatch,
    __version__,
)

# Public as groupkv.IOError (the redundant alias marks it re-exported for type checkers) but
# kept out of __all__, so `from groupkv import *` leaves the builtin IOError alone.
from ._groupkv import IOError as IOError  # noqa: E402

__all__ = [
    "COMPRESSIONS",
    "DB",
    "DEFAULT_OPTIONS",
    "MAX_KEY_VALUE_SIZE",
    "WAL_RECOVERY_MODES",
    "BusyError",
    "ClosedError",
    "CorruptionError",
    "Error",
    "IncompleteError",
    "InvalidArgumentError",
    "PendingBatch",
    "PoisonedError",
    "WriteBatch",
    "__version__",
]
