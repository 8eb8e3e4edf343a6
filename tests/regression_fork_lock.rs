//! The directory lock and `fork()` (issue 11, defect 5). The lock was an `flock`, which a
//! forked child shares: after the parent closed, neither the parent nor the child could reopen
//! while the child lived. It is now an `fcntl` record lock, which belongs to the process that
//! took it, plus an in-process registry that refuses a second open in the same process.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Mutex;

use groupkv::{Error, Options, WriteOptions, DB};

/// One fork at a time: the children allocate, so no other test thread may hold an allocator
/// lock at the moment of a fork (this file's tests take this lock first).
static FORK: Mutex<()> = Mutex::new(());

fn pipe() -> [libc::c_int; 2] {
    let mut fds = [0; 2];
    // SAFETY: pipe with a valid two-element array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    fds
}

fn send(fd: libc::c_int, byte: u8) {
    // SAFETY: writing one byte from a live buffer to our pipe.
    assert_eq!(unsafe { libc::write(fd, [byte].as_ptr().cast(), 1) }, 1);
}

fn recv(fd: libc::c_int) -> u8 {
    let mut b = [0u8];
    // SAFETY: reading one byte into a live buffer from our pipe.
    let n = unsafe { libc::read(fd, b.as_mut_ptr().cast(), 1) };
    assert_eq!(n, 1, "the other process went away");
    b[0]
}

fn reap(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    status
}

fn has(dir: &Path, key: &[u8]) -> bool {
    let db = DB::open(dir, Options::default()).unwrap();
    let found = db.get(key).unwrap().is_some();
    db.close().unwrap();
    found
}

#[test]
fn after_fork_parent_and_child_can_each_reopen_once_the_parent_closed() {
    let _one = FORK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let db = DB::open(dir.path(), Options::default()).unwrap();
    db.put(&WriteOptions::synced(), b"parent", b"1").unwrap();
    let (to_child, to_parent) = (pipe(), pipe());
    // SAFETY: fork in a test; the child opens the database when told, reports one byte and
    // leaves with _exit, never returning to the harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // Wait until the parent closed (and reopened and closed again), then open ourselves.
        recv(to_child[0]);
        let ok = DB::open(dir.path(), Options::default()).and_then(|db| {
            db.put(&WriteOptions::synced(), b"child", b"2")?;
            db.close()
        });
        send(to_parent[1], u8::from(ok.is_ok()));
        // Stay alive (holding our copy of the parent's descriptors) until told to go.
        recv(to_child[0]);
        // The child's copy of the parent's handle is dropped here, as a real child would.
        drop(db);
        // SAFETY: leaving the child without running the harness.
        unsafe { libc::_exit(0) };
    }
    db.close().unwrap();
    drop(db);
    // The parent reopens while the child lives. Every step below runs whatever the outcome
    // (asserting only at the end), so a failure never leaves the child waiting forever.
    let again = DB::open(dir.path(), Options::default()).and_then(|db| db.close());
    send(to_child[1], 1);
    let child_ok = recv(to_parent[0]);
    send(to_child[1], 1);
    let status = reap(pid);
    assert!(
        again.is_ok(),
        "parent reopen while the child lives: {:?}",
        again.err()
    );
    assert_eq!(
        child_ok, 1,
        "the child could not open after the parent closed"
    );
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    assert!(has(dir.path(), b"parent") && has(dir.path(), b"child"));
}

#[test]
fn a_refused_second_open_keeps_the_lock_against_other_processes() {
    let _one = FORK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let db = DB::open(dir.path(), Options::default()).unwrap();
    // The same directory under other names: the registry compares canonical paths.
    let link = tempfile::tempdir().unwrap();
    let alias = link.path().join("alias");
    std::os::unix::fs::symlink(dir.path(), &alias).unwrap();
    let dotted = dir.path().join(".");
    for path in [dir.path(), alias.as_path(), dotted.as_path()] {
        match DB::open(path, Options::default()) {
            Err(Error::Busy { .. }) => {}
            other => panic!("{}: expected Busy, got {other:?}", path.display()),
        }
    }
    // Those refusals must not have opened and closed the LOCK file (closing any descriptor
    // of it would release this process's fcntl lock): another process is still refused.
    let to_parent = pipe();
    // SAFETY: fork in a test; the child tries one open, reports one byte and _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let busy = matches!(
            DB::open(dir.path(), Options::default()),
            Err(Error::Busy { .. })
        );
        send(to_parent[1], u8::from(busy));
        // SAFETY: leaving the child without running the harness.
        unsafe { libc::_exit(0) };
    }
    let busy = recv(to_parent[0]);
    reap(pid);
    assert_eq!(busy, 1, "another process could take the lock");
    db.put(&WriteOptions::synced(), b"k", b"v").unwrap();
    db.close().unwrap();
    assert!(has(dir.path(), b"k"));
}
