//! The WAL group's leader: forming its group, and on exit handing leadership on and
//! completing (or, pipelined, passing on to the memtable queue) its followers.

use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
#[cfg(not(loom))]
use std::time::{Duration, Instant};

use super::state::*;
use super::{w, Site, WriteGroup, WriteThread, Writer, WriterPtr};
use crate::error::Error;
use crate::options::WriteOptions;
#[cfg(not(loom))]
use crate::sync::yield_now;
use crate::sync::AtomicPtr;

/// The longest a sync leader waits for writers to rejoin before forming its group.
#[cfg(not(loom))]
const SYNC_GATHER_MAX: Duration = Duration::from_micros(60);

/// A sync leader stops gathering once the queue did not grow over this many yields.
#[cfg(not(loom))]
const SYNC_GATHER_QUIET_YIELDS: u32 = 3;

impl WriteThread {
    /// Forms `group` led by `leader`: walks from the leader towards the newest writer, taking
    /// writers until the first one that is incompatible or would exceed the size cap (it and
    /// everyone after it keep their place and form the next group). Returns the group's bytes.
    pub fn enter_as_batch_group_leader(&self, leader: &Writer<'_>, group: &WriteGroup) {
        let mut size = leader.batch_size();
        let mut records = leader.batch_count();
        let max_size = self.max_group_size(size);
        group.start(leader);
        #[cfg(not(loom))]
        if leader.sync {
            self.gather_sync_writers();
        }
        let newest = self.newest_writer.load(Acquire);
        if leader.batch.is_some() {
            self.extend_group(group, newest, |n| {
                let fits = n.batch.is_some()
                    && (!n.sync || leader.sync)
                    && n.no_slowdown == leader.no_slowdown
                    && n.disable_wal == leader.disable_wal
                    && size + n.batch_size() <= max_size;
                if fits {
                    size += n.batch_size();
                    records += n.batch_count();
                }
                fits
            });
        }
        group.records.store(records, Relaxed);
        group.bytes.store(size as u64, Relaxed);
    }

    /// The most bytes a group led by a batch of `leader_size` bytes may carry: the cap, or, for a
    /// leader of at most 1/8 of it, the leader's size plus 1/8 of it (so a small write is not
    /// slowed down by a huge group).
    pub(super) fn max_group_size(&self, leader_size: usize) -> usize {
        let eighth = self.max_group_bytes / 8;
        if leader_size <= eighth {
            leader_size + eighth
        } else {
            self.max_group_bytes
        }
    }

    /// Extends `group` (so far its leader alone) with the queued writers after it, up to
    /// `newest`, while `admit` accepts them: the first writer refused, and everyone after it,
    /// keep their place for the next group. The caller is the group's leader.
    pub(super) fn extend_group(
        &self,
        group: &WriteGroup,
        newest: WriterPtr,
        mut admit: impl FnMut(&Writer<'_>) -> bool,
    ) {
        self.create_missing_newer_links(newest);
        let mut last = group.leader.load(Relaxed);
        let mut count = 1;
        while last != newest {
            // SAFETY: `last` is in the queue and not COMPLETED; links up to `newest` exist.
            let next = unsafe { w(last) }.link_newer.load(Relaxed);
            // SAFETY: `next` lies between the leader and `newest`, so it is queued and waiting.
            let n = unsafe { w(next) };
            if !admit(n) {
                break;
            }
            n.group
                .store(group as *const WriteGroup as *mut WriteGroup, Relaxed);
            last = next;
            count += 1;
        }
        group.last_writer.store(last, Relaxed);
        group.size.store(count, Relaxed);
    }

    /// A sync leader lets the writers of the group that just completed rejoin the queue before it
    /// forms its group: it yields until the queue stops growing (or `SYNC_GATHER_MAX` passes).
    ///
    /// Without this, a new leader takes only the writers that queued during the previous
    /// `fdatasync`, the writers just released join the group after, and groups alternate
    /// between the two halves: the mean group is T/2 and throughput at most half of
    /// T ÷ fdatasync latency (RocksDB shows the same). The wait costs a few microseconds
    /// against an `fdatasync` of hundreds.
    #[cfg(not(loom))]
    fn gather_sync_writers(&self) {
        // A lone sync writer (nobody queued behind a sync leader since the last gather) has no
        // one to wait for.
        let joins = self.queued_joins.load(Relaxed);
        if self.joins_at_last_gather.swap(joins, Relaxed) == joins {
            return;
        }
        let start = Instant::now();
        let mut seen = self.newest_writer.load(Acquire);
        let mut quiet = 0;
        while quiet < SYNC_GATHER_QUIET_YIELDS && start.elapsed() < SYNC_GATHER_MAX {
            yield_now();
            let now = self.newest_writer.load(Acquire);
            if now == seen {
                quiet += 1;
            } else {
                seen = now;
                quiet = 0;
            }
        }
    }

    /// Assigns each writer of the group its first sequence, from `first`; sets and returns the
    /// group's last sequence. Leader only, before the group's WAL write.
    pub fn assign_sequences(&self, group: &WriteGroup, first: u64) -> u64 {
        let mut next = first;
        group.for_each(|w| {
            w.sequence.store(next, Relaxed);
            next += w.batch_count();
        });
        group.set_last_sequence(next.wrapping_sub(1));
        next.wrapping_sub(1)
    }

    /// The leader is done with the WAL (and, unless pipelined, the memtable): hands leadership
    /// to the next writer and completes the group's followers with `status`.
    ///
    /// Pipelined, the writers that still have to insert move to the memtable queue instead, and
    /// the leader waits there until it leads a memtable group, inserts in parallel, or is done.
    /// The return value is the leader's state after this call (`COMPLETED` unless pipelined).
    pub fn exit_as_batch_group_leader(&self, group: &WriteGroup, status: Option<Error>) -> u8 {
        let last = group.last_writer.load(Relaxed);
        if self.pipelined {
            return self.exit_pipelined(group, status);
        }
        // Hand leadership on first, so the next group's WAL write starts at once.
        // SAFETY: `last` is in our group, and no member is COMPLETED before the hand-off
        // (complete_followers, below, or the group's finisher completes them).
        self.hand_off(&self.newest_writer, unsafe { w(last) }, GROUP_LEADER);
        self.complete_followers(group, &status);
        COMPLETED
    }

    /// Hands leadership of `queue` on from `last`, the newest writer of the caller's group (or
    /// the dummy or unbatched writer standing in for it): an empty queue stays empty; otherwise
    /// the writer queued just after `last` becomes the oldest in the queue and gets
    /// `next_state` (`GROUP_LEADER` on the WAL queue, `MEMTABLE_WRITER_LEADER` on the memtable
    /// queue). Every exit path leaves through here.
    ///
    /// The caller leads `queue` and `last` is not COMPLETED: no other thread completes a
    /// queued writer meanwhile, which is what keeps the writer after `last` alive.
    pub(super) fn hand_off(
        &self,
        queue: &AtomicPtr<Writer<'static>>,
        last: &Writer<'_>,
        next_state: u8,
    ) {
        if let Err(head) = queue.compare_exchange(last.as_ptr(), ptr::null_mut(), AcqRel, Acquire) {
            // Writers queued after `last`: link them newer-wards to find the one just after it.
            self.create_missing_newer_links(head);
            let next = last.link_newer.load(Relaxed);
            // SAFETY: `next` was queued after `last` and waits for this hand-off; only the
            // queue's leader (the caller) completes queued writers, so it is not COMPLETED.
            let next = unsafe { w(next) };
            next.link_older.store(ptr::null_mut(), Relaxed);
            self.set_state(next, next_state);
        }
    }

    /// Completes every member of `group` but its leader with `status`, newest first.
    pub(super) fn complete_followers(&self, group: &WriteGroup, status: &Option<Error>) {
        let leader = group.leader.load(Relaxed);
        let mut p = group.last_writer.load(Relaxed);
        while p != leader {
            // SAFETY: `p` is a follower of the group, not COMPLETED until the set_state below.
            let follower = unsafe { w(p) };
            // Read the link first: once COMPLETED, the follower's frame may be gone.
            let older = follower.link_older.load(Relaxed);
            follower.set_own_status_from_completer(status.clone());
            self.set_state(follower, COMPLETED);
            p = older;
        }
    }

    /// Completes the leader of `group` with `status`, after its followers: the group lives on
    /// the leader's stack, so nothing of it may be touched afterwards. Used by the thread that
    /// finishes a group on the leader's behalf (usually another thread's writer), and by a
    /// memtable leader finishing its own group.
    pub(super) fn complete_leader(&self, group: &WriteGroup, status: Option<Error>) {
        let leader = group.leader.load(Relaxed);
        // SAFETY: the leader is not COMPLETED yet (only this call completes it), so it and the
        // group on its stack are alive.
        let leader = unsafe { w(leader) };
        leader.set_own_status_from_completer(status);
        self.set_state(leader, COMPLETED);
    }

    fn exit_pipelined(&self, group: &WriteGroup, status: Option<Error>) -> u8 {
        let leader_ptr = group.leader.load(Relaxed);
        let last = group.last_writer.load(Relaxed);
        // A dummy at our place in the queue keeps the next WAL leader from linking its group
        // onto the memtable queue before ours: memtable groups must keep WAL order.
        let dummy = Writer::new(None, &WriteOptions::default());
        let dummy_ptr = dummy.as_ptr();
        let mut head = last;
        if let Err(actual) = self
            .newest_writer
            .compare_exchange(head, dummy_ptr, AcqRel, Acquire)
        {
            head = actual;
            self.create_missing_newer_links(head);
            // SAFETY: `last` is in our group, not COMPLETED.
            let next_ptr = unsafe { w(last) }.link_newer.load(Relaxed);
            // SAFETY: `next_ptr` is queued after our group and waiting.
            let next = unsafe { w(next_ptr) };
            next.link_older.store(dummy_ptr, Relaxed);
            dummy.link_newer.store(next_ptr, Relaxed);
        }
        // Writers that will not insert (the group failed) are done here. On failure the whole
        // group completes; otherwise every member goes to the memtable queue.
        let leader = {
            // SAFETY: the leader is this thread's writer, alive.
            unsafe { w(leader_ptr) }
        };
        let mut state_after = MEMTABLE_WRITER_LEADER;
        if status.is_some() {
            self.complete_followers(group, &status);
            leader.set_own_status(status);
            self.set_state(leader, COMPLETED);
            state_after = COMPLETED;
        } else if self.link_group(group, &self.newest_memtable_writer) {
            // Our group heads the memtable queue: its leader leads the memtable group.
            self.set_state(leader, MEMTABLE_WRITER_LEADER);
        }
        // Unlink the dummy and wake the next WAL leader.
        self.hand_off(&self.newest_writer, &dummy, GROUP_LEADER);
        if state_after == COMPLETED {
            return COMPLETED;
        }
        self.await_state(
            leader,
            MEMTABLE_WRITER_LEADER
                | PARALLEL_MEMTABLE_CALLER
                | PARALLEL_MEMTABLE_WRITER
                | COMPLETED,
            Site::ExitAsLeader,
        )
    }
}
