"""groupkv from Python: 16 threads write with sync=True against a fresh database, then the
write-path statistics show how the writes were grouped (one fdatasync per write group); after a
reopen, a prefix scan, a reverse range and a snapshot read the data back.

Run with `make demo-python`, or `python examples/demo.py [DIR]` with groupkv installed.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time

import groupkv

THREADS = 16
WRITES_PER_THREAD = 200


def writer(db: groupkv.DB, t: int, errors: list[BaseException]) -> None:
    try:
        for i in range(WRITES_PER_THREAD):
            batch = groupkv.WriteBatch()
            batch.put(f"t{t:02}-k{i:05}".encode(), f"v{i}".encode())
            batch.put(f"t{t:02}-last".encode(), str(i).encode())
            db.write(batch, sync=True)
    except BaseException as e:  # reported by the main thread
        errors.append(e)


def main() -> int:
    owned = len(sys.argv) < 2
    path = tempfile.mkdtemp(prefix="groupkv-demo-") if owned else sys.argv[1]
    try:
        errors: list[BaseException] = []
        with groupkv.DB(path) as db:
            start = time.perf_counter()
            threads = [
                threading.Thread(target=writer, args=(db, t, errors)) for t in range(THREADS)
            ]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            elapsed = time.perf_counter() - start
            if errors:
                raise errors[0]
            stats = db.stats()
        writes = THREADS * WRITES_PER_THREAD
        print(
            f"{THREADS} Python threads x {WRITES_PER_THREAD} synced writes in {elapsed:.2f}s "
            f"({writes / elapsed:.0f} writes/s)"
        )

        # Reopen: every acknowledged write is there.
        with groupkv.DB(path, create_if_missing=False) as db:
            for t in range(THREADS):
                last = db.get(f"t{t:02}-last".encode())
                assert last == str(WRITES_PER_THREAD - 1).encode(), (t, last)
                assert db[f"t{t:02}-k00000".encode()] == b"v0"
            # Reads: a prefix scan, a reverse range, and a snapshot that ignores later writes.
            t00 = sum(1 for _ in db.keys(prefix=b"t00-k"))
            assert t00 == WRITES_PER_THREAD, t00
            print("last 3 keys of thread 5:", list(db.keys(b"t05-k", b"t05-l", reverse=True))[:3])
            with db.snapshot() as snap:
                db.put(b"t00-last", b"changed")
                print(
                    "t00-last at the snapshot:", snap.get(b"t00-last"),
                    "now:", db.get(b"t00-last"),
                )
            print("tables in level 0:", db.property("groupkv.num-files-at-level0"))
        print("reopened: every write is present")

        print("statistics:")
        for name, value in stats.items():
            if isinstance(value, dict):
                print(
                    f"  {name:<20} count={value['count']} mean={value['mean']:.1f} "
                    f"p50={value['p50']:.1f} p99={value['p99']:.1f} max={value['max']}"
                )
            else:
                print(f"  {name:<20} {value}")
        groups = stats["write_done_by_self"]
        print(
            f"{writes} writes committed in {groups} write groups "
            f"({writes / max(groups, 1):.1f} writes per group, {stats['wal_syncs']} WAL syncs)"
        )
        return 0
    finally:
        if owned:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
