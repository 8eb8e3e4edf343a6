"""A hypothesis state machine: groupkv behaves like a dict across puts, deletes, batches,
write options, clean reopens and reopens in other recovery modes."""

from __future__ import annotations

import shutil
import tempfile

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import groupkv

# A small key space so that overwrites and deletes of existing keys are common; empty keys and
# values are legal and included.
keys = st.binary(min_size=0, max_size=3) | st.sampled_from([b"", b"a", b"b"])
values = st.binary(min_size=0, max_size=40)
write_modes = st.sampled_from(
    [{}, {"sync": True}, {"disable_wal": True}, {"no_slowdown": True}]
)
buffer_kinds = st.sampled_from([bytes, bytearray, memoryview])


class DictModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="groupkv-model-")
        self.db = groupkv.DB(self.dir)
        self.model: dict[bytes, bytes] = {}
        self.pending: groupkv.WriteBatch | None = None
        self.pending_model: list[tuple[bytes, bytes | None]] = []
        self.touched: set[bytes] = set()

    @rule(key=keys, value=values, mode=write_modes, kind=buffer_kinds)
    def put(self, key: bytes, value: bytes, mode: dict[str, bool], kind: type) -> None:
        self.db.put(kind(key), kind(value), **mode)
        self.model[key] = value

    @rule(key=keys, mode=write_modes)
    def delete(self, key: bytes, mode: dict[str, bool]) -> None:
        self.db.delete(key, **mode)
        self.model.pop(key, None)

    @rule(key=keys, value=values)
    def set_item(self, key: bytes, value: bytes) -> None:
        self.db[key] = value
        self.model[key] = value

    @rule(key=keys, value=values)
    def batch_put(self, key: bytes, value: bytes) -> None:
        if self.pending is None:
            self.pending = groupkv.WriteBatch()
        self.pending.put(key, value)
        self.pending_model.append((key, value))

    @rule(key=keys)
    def batch_delete(self, key: bytes) -> None:
        if self.pending is None:
            self.pending = groupkv.WriteBatch()
        self.pending.delete(key)
        self.pending_model.append((key, None))

    @precondition(lambda self: self.pending is not None)
    @rule(mode=write_modes, roundtrip=st.booleans())
    def batch_write(self, mode: dict[str, bool], roundtrip: bool) -> None:
        assert self.pending is not None
        batch = self.pending
        if roundtrip:
            batch = groupkv.WriteBatch.from_data(batch.data())
        assert len(batch) == len(self.pending_model)
        self.db.write(batch, **mode)
        for key, value in self.pending_model:
            if value is None:
                self.model.pop(key, None)
            else:
                self.model[key] = value
        self.pending = None
        self.pending_model = []

    @rule(ops=st.lists(st.tuples(keys, st.none() | values), max_size=5), fail=st.booleans())
    def batch_context(self, ops: list[tuple[bytes, bytes | None]], fail: bool) -> None:
        try:
            with self.db.batch() as b:
                for key, value in ops:
                    if value is None:
                        b.delete(key)
                    else:
                        b.put(key, value)
                if fail:
                    raise KeyboardInterrupt  # any exception discards the batch
        except KeyboardInterrupt:
            return
        for key, value in ops:
            if value is None:
                self.model.pop(key, None)
            else:
                self.model[key] = value

    @rule(mode=st.sampled_from(groupkv.WAL_RECOVERY_MODES))
    def reopen(self, mode: str) -> None:
        self.db.close()
        self.db = groupkv.DB(self.dir, create_if_missing=False, wal_recovery_mode=mode)

    @rule(key=keys)
    def get(self, key: bytes) -> None:
        assert self.db.get(key) == self.model.get(key)
        assert (key in self.db) == (key in self.model)

    @invariant()
    def every_touched_key_matches(self) -> None:
        self.touched.update(self.model)
        for key in self.touched:
            assert self.db.get(key) == self.model.get(key), key

    def teardown(self) -> None:
        self.db.close()
        shutil.rmtree(self.dir, ignore_errors=True)


DictModel.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestDictModel = DictModel.TestCase
