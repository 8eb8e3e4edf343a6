"""Kill -9 a writer process mid-stream: every acknowledged write survives the reopen."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import groupkv

# The child writes from 4 threads: a mix of single puts and 3-key batches (all with one value,
# so a torn batch is visible), sync=True on most writes, and after each acknowledged write
# prints "ack <thread> <i>" to stdout (a pipe): whatever reached the pipe was acknowledged.
WRITER = textwrap.dedent(
    """
    import sys, threading, groupkv
    db = groupkv.DB(sys.argv[1])
    cycle = sys.argv[2]
    out_lock = threading.Lock()
    def writer(t):
        i = 0
        while True:
            value = b"%s-%d-%d" % (cycle.encode(), t, i)
            if i % 3 == 2:
                b = groupkv.WriteBatch()
                for part in range(3):
                    b.put(b"c%s-t%d-i%d-p%d" % (cycle.encode(), t, i, part), value)
                db.write(b, sync=True)
            else:
                db.put(b"c%s-t%d-i%d" % (cycle.encode(), t, i), value, sync=(i % 4 != 1))
            with out_lock:
                sys.stdout.write("ack %d %d\\n" % (t, i))
                sys.stdout.flush()
            i += 1
    for t in range(4):
        threading.Thread(target=writer, args=(t,), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()
    """
)

# More cycles: GROUPKV_CRASH_CYCLES=100 make test-python
CYCLES = int(os.environ.get("GROUPKV_CRASH_CYCLES", "6"))
THREADS = 4


def keys_of(cycle: int, t: int, i: int) -> list[bytes]:
    if i % 3 == 2:
        return [b"c%d-t%d-i%d-p%d" % (cycle, t, i, p) for p in range(3)]
    return [b"c%d-t%d-i%d" % (cycle, t, i)]


def run_cycle(path: Path, cycle: int, rng: random.Random) -> dict[int, int]:
    """Starts the writer, SIGKILLs it after a random number of acks; returns the highest
    acknowledged index per thread."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(cycle)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    acked: dict[int, int] = {}
    target = rng.randint(50, 600)
    buf = b""
    deadline = time.monotonic() + 60
    try:
        seen = 0
        while seen < target and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if not ready:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, proc.stderr.read() if proc.stderr else b""
            buf += chunk
            seen = buf.count(b"\nack")
    finally:
        proc.send_signal(signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    buf += rest
    lines = buf.split(b"\n")
    if not buf.endswith(b"\n"):
        lines = lines[:-1]  # a half-written line was never acknowledged to us
    for line in lines:
        if line.startswith(b"ack "):
            _, t, i = line.split()
            acked[int(t)] = max(acked.get(int(t), -1), int(i))
    assert acked, "the writer acknowledged nothing before it was killed"
    return acked


def test_sigkill_loses_no_acknowledged_write(tmp_path: Path) -> None:
    path = tmp_path / "db"
    rng = random.Random(0x6B7)
    history: dict[int, dict[int, int]] = {}
    for cycle in range(CYCLES):
        history[cycle] = run_cycle(path, cycle, rng)
        with groupkv.DB(path) as db:
            for c, acked in history.items():
                for t in range(THREADS):
                    last = acked.get(t, -1)
                    # Every acknowledged write of every cycle so far is present.
                    for i in range(last + 1):
                        value = b"%d-%d-%d" % (c, t, i)
                        for key in keys_of(c, t, i):
                            assert db.get(key) == value, (c, t, i, key)
                    # After the acknowledged ones, each thread's writes form a prefix: a write
                    # in flight may have landed, but then nothing after it can be missing,
                    # and a batch is either whole or absent.
                    i = last + 1
                    while True:
                        present = [db.get(k) for k in keys_of(c, t, i)]
                        if all(v is None for v in present):
                            break
                        assert present == [b"%d-%d-%d" % (c, t, i)] * len(present), (c, t, i)
                        i += 1
                    assert i <= last + 2, "more than the one in-flight write per thread landed"
                    assert db.get(keys_of(c, t, i + 1)[0]) is None
