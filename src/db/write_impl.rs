//! The orchestration of one write (RocksDB's `DBImpl::WriteImpl` and `PipelinedWriteImpl`),
//! generic over the I/O it drives so the loom models run this very code against a mock.
//!
//! Non-pipelined, a leader: runs the pre-write checks, forms its group, assigns sequences,
//! writes one WAL record for the group (syncing once if asked), inserts the group into the
//! memtable (alone, or every member its own batch in parallel), publishes the group's last
//! sequence, and exits (next leader first, then the followers).
//!
//! Pipelined, the WAL leader stops after the WAL write: it moves its group onto the memtable
//! queue and hands WAL leadership on at once; memtable groups then insert and publish in WAL
//! order.
//!
//! A panic must never unwind out of the write path: the writers are linked through pointers to
//! one another's stack frames, so unwinding a leader (or a member) would free a frame that
//! other threads still follow, and the C and Python boundaries would report the panic as a
//! recoverable error over a corrupted queue. [`AbortOnUnwind`] guards every write from joining
//! the queue to its completion and aborts the process, with a message, instead.

use crate::error::Error;
use crate::write_thread::{state::*, WriteGroup, WriteThread, Writer};

/// What a write group needs from the database. Every method is called from the write path;
/// the comments say by whom.
pub trait WriteBackend {
    /// The leader, before forming its group: refuse the group (closed, poisoned) or wait out a
    /// write stall (through `WriteThread::begin_write_stall`).
    fn preprocess(&self, wt: &WriteThread, leader: &Writer<'_>) -> Result<(), Error>;
    /// The leader: reserves `count` sequence numbers and returns the first.
    fn allocate_sequences(&self, count: u64) -> u64;
    /// The leader: writes the group's one WAL record (and syncs it if the leader asked).
    fn write_group_to_wal(&self, group: &WriteGroup, leader: &Writer<'_>) -> Result<(), Error>;
    /// Any member: inserts `w`'s batch at `w.sequence()`. May run on many threads at once.
    fn insert_into_memtable(&self, w: &Writer<'_>);
    /// Makes every sequence up to `last` visible to readers.
    fn publish(&self, last: u64);
    /// Whether group members insert in parallel.
    fn allow_concurrent_memtable_write(&self) -> bool;
}

/// Aborts the process if dropped while a panic unwinds (see the module doc): hold one from
/// linking a writer into the queue until it is `COMPLETED` or unlinked.
#[derive(Debug)]
pub struct AbortOnUnwind {
    /// What the guarded thread was doing, for the message.
    what: &'static str,
    /// The thread was already unwinding when the guard was made (a `DB` dropped during a
    /// panic closes itself): only a panic that starts inside the guarded region is fatal.
    #[cfg(not(loom))]
    already_panicking: bool,
}

impl AbortOnUnwind {
    /// Guards `what` (for the message).
    pub fn new(what: &'static str) -> Self {
        AbortOnUnwind {
            what,
            #[cfg(not(loom))]
            already_panicking: std::thread::panicking(),
        }
    }
}

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        // Loom reports a failed model by panicking through it: let that unwind to loom.
        #[cfg(not(loom))]
        if std::thread::panicking() && !self.already_panicking {
            eprintln!(
                "groupkv: fatal: a panic unwound through the write path ({}); other writers \
                 hold pointers into this thread's stack, so the process cannot continue \
                 safely. Aborting. Writes acknowledged before this are recovered by the next \
                 open.",
                self.what
            );
            std::process::abort();
        }
        #[cfg(loom)]
        let _ = self.what;
    }
}

/// Runs one write through the queue; returns once it is durable as asked and visible.
pub fn write_impl<B: WriteBackend>(wt: &WriteThread, b: &B, w: &Writer<'_>) -> Result<(), Error> {
    // Both groups live here, on the leader's stack, for as long as any member may use them.
    let wal_group = WriteGroup::new();
    let memtable_group = WriteGroup::new();
    // Declared after the groups, so an unwinding panic reaches it before they are dropped.
    let _guard = AbortOnUnwind::new("a write");

    let mut state = wt.join_batch_group(w);
    if state == GROUP_LEADER {
        let pre = b.preprocess(wt, w);
        wt.enter_as_batch_group_leader(w, &wal_group);
        let mut status = pre.err();
        if status.is_none() {
            let first = b.allocate_sequences(wal_group.records());
            wt.assign_sequences(&wal_group, first);
            status = b.write_group_to_wal(&wal_group, w).err();
        }
        if wt.pipelined() {
            state = wt.exit_as_batch_group_leader(&wal_group, status);
        } else if status.is_some() || w.batch().is_none() {
            w.set_own_status(status.clone());
            wt.exit_as_batch_group_leader(&wal_group, status);
            return w.take_status();
        } else if b.allow_concurrent_memtable_write() && wal_group.size() > 1 {
            wt.launch_parallel_memtable_writers(&wal_group);
            state = w.state();
        } else {
            wal_group.for_each(|m| b.insert_into_memtable(m));
            b.publish(wal_group.last_sequence());
            wt.exit_as_batch_group_leader(&wal_group, None);
            return w.take_status();
        }
    }

    if state == MEMTABLE_WRITER_LEADER {
        wt.enter_as_memtable_writer(w, &memtable_group);
        if memtable_group.size() > 1 && b.allow_concurrent_memtable_write() {
            wt.launch_parallel_memtable_writers(&memtable_group);
            state = w.state();
        } else {
            memtable_group.for_each(|m| b.insert_into_memtable(m));
            b.publish(memtable_group.last_sequence());
            wt.exit_as_memtable_writer(&memtable_group);
            state = COMPLETED;
        }
    }

    if state == PARALLEL_MEMTABLE_CALLER {
        // SAFETY: `w` is a parallel caller that has not completed its insert, so its group is
        // alive (see `Writer::group`).
        wt.set_mem_writers_each_stride(w, unsafe { w.group() });
        state = PARALLEL_MEMTABLE_WRITER;
    }
    if state == PARALLEL_MEMTABLE_WRITER {
        b.insert_into_memtable(w);
        if wt.complete_parallel_memtable_writer(w) {
            // The last writer to finish completes the group for everyone.
            // SAFETY: `w` is the group's last parallel writer: the group stays alive until
            // the exit below completes its leader.
            let group = unsafe { w.group() };
            b.publish(group.last_sequence());
            if wt.pipelined() {
                wt.exit_as_memtable_writer(group);
            } else {
                wt.exit_as_batch_group_follower(w);
            }
        }
    }
    debug_assert_eq!(w.state(), COMPLETED);
    w.take_status()
}
