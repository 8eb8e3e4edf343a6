"""fork(): a child using the parent's handle gets a clear error at once, never a deadlock."""

from __future__ import annotations

import os
import select
import threading
import time
import warnings
from pathlib import Path

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


def _try_open(path: str) -> str:
    try:
        groupkv.DB(path).close()
        return "opens"
    except groupkv.BusyError:
        return "BusyError"


def test_after_fork_parent_closes_then_parent_and_child_each_reopen(db_path: Path) -> None:
    """The lock is an fcntl record lock: a forked child does not inherit it, so once the parent
    closes, the parent can reopen while the child lives, and so can the child."""
    path = str(db_path)
    db = groupkv.DB(path)
    db.put(b"k", b"v", sync=True)
    go_r, go_w = os.pipe()
    res_r, res_w = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # a pre-fork worker: keeps the inherited handle, never uses it
        code = 0
        try:
            os.close(go_w)
            os.close(res_r)
            os.read(go_r, 1)  # the parent has closed (and reopened and closed) its DB
            os.write(res_w, _try_open(path).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(go_r)
    os.close(res_w)
    try:
        db.close()
        parent_reopens = _try_open(path)
        os.write(go_w, b"x")
        ready, _, _ = select.select([res_r], [], [], 10.0)
        child_opens = os.read(res_r, 64).decode() if ready else "hung"
    finally:
        os.close(go_w)
        os.close(res_r)
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    assert parent_reopens == "opens"
    assert child_opens == "opens"
    with groupkv.DB(path) as again:
        assert again[b"k"] == b"v"
        # A second open of the same directory in this process is refused.
        with pytest.raises(groupkv.BusyError):
            groupkv.DB(path)
