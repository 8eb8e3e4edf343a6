"""fork(): a child using the parent's handle gets a clear error at once, never a deadlock."""

from __future__ import annotations

import os
import select
import threading
import time
import warnings

import pytest

import groupkv


def fork_and_report(db: groupkv.DB, calls: list[str]) -> list[str]:
    """Forks; the child runs each call on the parent's handle and reports its outcome through a
    pipe. Returns the reports; fails if the child takes more than a second."""
    r, w = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads; that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 0
        try:
            os.close(r)
            for call in calls:
                try:
                    eval(call, {"db": db, "groupkv": groupkv})
                    outcome = "ok"
                except groupkv.Error as e:
                    outcome = f"{type(e).__name__}: {e}"
                except BaseException as e:
                    outcome = f"unexpected {type(e).__name__}: {e}"
                os.write(w, (outcome.replace("\n", " ") + "\n").encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    start = time.monotonic()
    out = b""
    try:
        while True:
            remaining = 1.0 - (time.monotonic() - start)
            ready, _, _ = select.select([r], [], [], max(remaining, 0))
            if not ready:
                pytest.fail(f"the forked child hung; reported so far: {out!r}")
            chunk = os.read(r, 4096)
            if not chunk:
                break
            out += chunk
    finally:
        os.close(r)
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    return out.decode().splitlines()


def test_forked_child_using_parent_handle_gets_clear_error(db: groupkv.DB) -> None:
    db.put(b"k", b"v", sync=True)
    calls = [
        "db.put(b'k', b'child')",
        "db.get(b'k')",
        "db.delete(b'k')",
        "db.write(groupkv.WriteBatch())",
        "db[b'k']",
        "db.close()",
        "db.put(b'k', b'child')",
    ]
    reports = fork_and_report(db, calls)
    assert len(reports) == len(calls), reports
    for report in reports[:5]:
        assert report.startswith("InvalidArgumentError: "), report
        assert "fork" in report and "parent" in report
    assert reports[5] == "ok"  # closing the child's copy is allowed and touches nothing
    assert reports[6].startswith("ClosedError"), reports[6]
    # The parent's handle is untouched by the child.
    assert db[b"k"] == b"v"
    db.put(b"k", b"parent", sync=True)
    assert db[b"k"] == b"parent"


def test_fork_while_parent_threads_write(db: groupkv.DB) -> None:
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            db.put(b"w%d" % i, b"v", sync=True)
            i += 1

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.05)
        # The write queue may hold parent threads that do not exist in the child.
        reports = fork_and_report(db, ["db.put(b'x', b'y', sync=True)", "db.get(b'x')"])
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert [r.split(":")[0] for r in reports] == ["InvalidArgumentError"] * 2, reports
    assert db.get(b"x") is None
