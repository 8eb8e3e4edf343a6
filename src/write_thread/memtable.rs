//! Memtable writers: parallel inserts by the members of a group (woken directly or through
//! √n callers), and the pipelined memtable queue.

use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
#[cfg(not(loom))]
use std::time::Duration;

use super::state::*;
use super::{w, Site, WriteGroup, WriteThread, Writer};
use crate::options::WriteOptions;

/// Groups smaller than this launch every parallel writer from the leader.
const MIN_PARALLEL_SIZE_FOR_CALLERS: usize = 20;

/// How long a member of a sync group inserting in parallel yields for the group to end before
/// it blocks.
#[cfg(not(loom))]
const PARALLEL_SYNC_YIELD: Duration = Duration::from_micros(300);

impl WriteThread {
    /// Sets every member's state so it inserts its own batch in parallel. Small groups are woken
    /// by the leader; large ones through √n callers that each wake a stride, so the leader
    /// makes about 2√n wake-ups instead of n.
    ///
    /// Walking the group while waking it is safe: no member is COMPLETED before `running`
    /// reaches zero, which needs every member to finish, this leader included.
    pub fn launch_parallel_memtable_writers(&self, group: &WriteGroup) {
        let size = group.size();
        group.running.store(size, Release);
        if size < MIN_PARALLEL_SIZE_FOR_CALLERS {
            group.for_each(|m| self.set_state(m, PARALLEL_MEMTABLE_WRITER));
            return;
        }
        let stride = isqrt(size);
        let mut position = 0;
        let mut first_of_rest = None;
        group.for_each(|m| {
            if position == 0 {
                self.set_state(m, PARALLEL_MEMTABLE_WRITER);
            } else if position < stride {
                self.set_state(m, PARALLEL_MEMTABLE_CALLER);
            } else if position == stride {
                first_of_rest = Some(m);
            }
            position += 1;
        });
        // Positions stride, 2·stride, ...; each caller covers its own residue class.
        if let Some(m) = first_of_rest {
            self.set_mem_writers_each_stride(m, group);
        }
    }

    /// Wakes every stride-th writer from `from` (itself included) as a parallel writer.
    pub fn set_mem_writers_each_stride(&self, from: &Writer<'_>, group: &WriteGroup) {
        let stride = isqrt(group.size());
        let last = group.last_writer.load(Relaxed);
        let mut p = from.as_ptr();
        let mut position = 0usize;
        loop {
            // SAFETY: `p` is a member of the group from `from` on; members stay alive until
            // `running` reaches zero, which needs this caller to finish too.
            let member = unsafe { w(p) };
            let next = member.link_newer.load(Relaxed);
            if position % stride == 0 {
                self.set_state(member, PARALLEL_MEMTABLE_WRITER);
            }
            if p == last {
                break;
            }
            p = next;
            position += 1;
        }
    }

    /// A parallel writer is done inserting. Returns true for the last one, which must publish
    /// the group's sequence and then call the matching exit (`exit_as_batch_group_follower`, or
    /// `exit_as_memtable_writer` in pipelined mode). Everyone else waits for `COMPLETED`.
    ///
    /// `me` must be a parallel writer of a launched group, on its own thread.
    pub fn complete_parallel_memtable_writer(&self, me: &Writer<'_>) -> bool {
        // SAFETY: `me` is a parallel writer still running (the documented precondition), so
        // its group is alive until our `running` decrement below lets it finish; the
        // reference is not used after that unless we are the last.
        let group = unsafe { me.group() };
        if me.has_error() {
            if let Err(e) = me.take_status() {
                group.record_error(e);
            }
        }
        let sync = group.sync.load(Relaxed);
        if group.running.fetch_sub(1, AcqRel) > 1 {
            // The group may be gone from here on (the last writer completes it): only `me`.
            #[cfg(not(loom))]
            if sync && self.yield_until(me, COMPLETED, PARALLEL_SYNC_YIELD) {
                return false;
            }
            #[cfg(loom)]
            let _ = sync;
            self.await_state(me, COMPLETED, Site::CompleteParallelWriter);
            return false;
        }
        me.set_own_status(group.status.lock().clone());
        true
    }

    /// The last parallel writer finishes a (non-pipelined) group on the leader's behalf.
    pub fn exit_as_batch_group_follower(&self, me: &Writer<'_>) {
        // SAFETY: `me` is the last parallel writer (`complete_parallel_memtable_writer`
        // returned true): nobody else completes the group, so it is alive until the leader is
        // COMPLETED below.
        let group = unsafe { me.group() };
        let status = group.status.lock().clone();
        self.exit_as_batch_group_leader(group, status.clone());
        self.complete_leader(group, status);
    }

    /// Pipelined: forms the memtable group led by `leader` (consecutive writers on the memtable
    /// queue; with serial inserts, capped by size like a WAL group).
    pub fn enter_as_memtable_writer(&self, leader: &Writer<'_>, group: &WriteGroup) {
        let mut size = leader.batch_size();
        let max_size = self.max_group_size(size);
        group.start(leader);
        let newest = self.newest_memtable_writer.load(Acquire);
        let serial = !self.allow_concurrent_memtable_write;
        self.extend_group(group, newest, |n| {
            // Serial inserts are capped like WAL groups; parallel ones need no cap.
            let fits = n.batch.is_some() && (!serial || size + n.batch_size() <= max_size);
            if fits && serial {
                size += n.batch_size();
            }
            fits
        });
        let last = group.last_writer.load(Relaxed);
        // SAFETY: `last` is a member of the new group, waiting.
        let last_ref = unsafe { w(last) };
        group.set_last_sequence((last_ref.sequence() + last_ref.batch_count()).wrapping_sub(1));
    }

    /// Pipelined: the memtable group is inserted and published. Hands memtable leadership on and
    /// completes every member, followers newest first and the leader (who owns the group) last.
    pub fn exit_as_memtable_writer(&self, group: &WriteGroup) {
        let last = group.last_writer.load(Relaxed);
        let status = group.status.lock().clone();
        // SAFETY: `last` is ours and not COMPLETED (it is completed below, after the hand-off).
        self.hand_off(
            &self.newest_memtable_writer,
            unsafe { w(last) },
            MEMTABLE_WRITER_LEADER,
        );
        self.complete_followers(group, &status);
        self.complete_leader(group, status);
    }

    /// Pipelined: waits until every memtable group queued so far is inserted.
    pub(crate) fn wait_for_memtable_writers(&self) {
        if self.newest_memtable_writer.load(Acquire).is_null() {
            return;
        }
        let me = Writer::new(None, &WriteOptions::default());
        if !self.link_one(&me, &self.newest_memtable_writer) {
            self.await_state(&me, MEMTABLE_WRITER_LEADER, Site::WaitForMemtableWriters);
        }
        // Nobody can join behind us: WAL leadership is ours, so no group is linked meanwhile.
        self.newest_memtable_writer.store(ptr::null_mut(), Release);
    }
}

/// ⌊√n⌋, at least 1 (groups are small, so counting up is fine).
fn isqrt(n: usize) -> usize {
    let mut r = 1;
    while (r + 1) * (r + 1) <= n {
        r += 1;
    }
    r
}
