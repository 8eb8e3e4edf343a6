"""A hypothesis model of iterators against a sorted-dict oracle: random writes (with memtable
switches and flushes from a tiny write buffer), snapshots, and random cursor walks in both
directions with bounds, prefixes and seeks."""

from __future__ import annotations

import bisect
import shutil
import tempfile
from typing import Optional

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

import groupkv

keys = st.binary(min_size=0, max_size=3).map(lambda k: k.replace(b"\x01", b"\xff"))
values = st.binary(min_size=0, max_size=60)
moves = st.lists(
    st.sampled_from(["next", "prev", "start", "stop"]) | keys, max_size=12
)


class Walk:
    """The cursor model: a position between entries of a sorted key list."""

    def __init__(self, entries: list[tuple[bytes, bytes]], reverse: bool) -> None:
        self.entries = entries[::-1] if reverse else entries
        self.keys = [k for k, _ in entries]
        self.reverse = reverse
        self.pos = 0  # entries before the cursor, in the iterator's order

    def next(self) -> Optional[tuple[bytes, bytes]]:
        if self.pos == len(self.entries):
            return None
        self.pos += 1
        return self.entries[self.pos - 1]

    def prev(self) -> Optional[tuple[bytes, bytes]]:
        if self.pos == 0:
            return None
        self.pos -= 1
        return self.entries[self.pos]

    def seek(self, key: bytes) -> None:
        below = bisect.bisect_left(self.keys, key)  # keys < key
        self.pos = len(self.keys) - below if self.reverse else below


class IteratorModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="groupkv-itmodel-")
        self.db = groupkv.DB(self.dir, write_buffer_size=4096)
        self.model: dict[bytes, bytes] = {}
        self.snaps: list[tuple[groupkv.Snapshot, dict[bytes, bytes]]] = []

    @rule(key=keys, value=values)
    def put(self, key: bytes, value: bytes) -> None:
        self.db.put(key, value)
        self.model[key] = value

    @rule(key=keys)
    def delete(self, key: bytes) -> None:
        self.db.delete(key)
        self.model.pop(key, None)

    @rule(n=st.integers(1, 40), value=values)
    def bulk(self, n: int, value: bytes) -> None:
        for i in range(n):
            k = b"\x02%03d" % i
            self.db.put(k, value)
            self.model[k] = value

    @rule()
    def snapshot(self) -> None:
        if len(self.snaps) < 3:
            self.snaps.append((self.db.snapshot(), dict(self.model)))

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        if self.snaps:
            snap, _ = self.snaps.pop(data.draw(st.integers(0, len(self.snaps) - 1)))
            snap.close()

    @rule(
        data=st.data(),
        reverse=st.booleans(),
        start=st.none() | keys,
        stop=st.none() | keys,
        include_start=st.booleans(),
        include_stop=st.booleans(),
        prefix=st.none() | keys,
        walk=moves,
    )
    def scan(
        self,
        data: st.DataObject,
        reverse: bool,
        start: Optional[bytes],
        stop: Optional[bytes],
        include_start: bool,
        include_stop: bool,
        prefix: Optional[bytes],
        walk: list[object],
    ) -> None:
        use_snap = bool(self.snaps) and data.draw(st.booleans())
        snap, model = (
            self.snaps[data.draw(st.integers(0, len(self.snaps) - 1))]
            if use_snap
            else (None, self.model)
        )
        entries = sorted(model.items())
        if prefix is not None:
            start = stop = None
            entries = [(k, v) for k, v in entries if k.startswith(prefix)]
            it = self.db.iterator(reverse=reverse, prefix=prefix, snapshot=snap)
        else:
            if start is not None:
                entries = [(k, v) for k, v in entries if k > start or (include_start and k == start)]
            if stop is not None:
                entries = [(k, v) for k, v in entries if k < stop or (include_stop and k == stop)]
            it = self.db.iterator(
                reverse=reverse,
                start=start,
                stop=stop,
                include_start=include_start,
                include_stop=include_stop,
                snapshot=snap,
            )
        w = Walk(entries, reverse)
        for move in walk:
            if move == "next":
                want = w.next()
                got = next(it, None)
                assert got == want, (move, got, want)
            elif move == "prev":
                want = w.prev()
                try:
                    got = it.prev()
                except StopIteration:
                    got = None
                assert got == want, (move, got, want)
            elif move == "start":
                it.seek_to_start()
                w.pos = 0
            elif move == "stop":
                it.seek_to_stop()
                w.pos = len(w.entries)
            elif isinstance(move, bytes):
                it.seek(move)
                w.seek(move)
        # Then the rest in order, and a full scan from the start.
        rest = list(it)
        assert rest == w.entries[w.pos :]
        it.seek_to_start()
        assert list(it) == w.entries
        it.close()

    def teardown(self) -> None:
        for snap, _ in self.snaps:
            snap.close()
        self.db.close()
        shutil.rmtree(self.dir, ignore_errors=True)


IteratorModel.TestCase.settings = settings(max_examples=200, stateful_step_count=30)
test_iterator_model = IteratorModel.TestCase
