//! Snapshots: sequence numbers a reader pins (LevelDB's `SnapshotList`, as a multiset).
//!
//! Creating one locks the list, reads the published sequence and inserts it, then unlocks; a
//! job that must keep every version a snapshot can see (a flush or compaction dropping
//! shadowed versions) reads the smallest the same way, under the same lock, so a snapshot
//! being created can never fall below the smallest a job has started with (storage-engine.md
//! 5.4). A [`Snapshot`] owns its entry: dropping it releases the sequence.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Acquire;
use std::sync::Arc;

use crate::sync::Mutex;

/// The sequences pinned by live snapshots, with their counts.
#[derive(Debug, Default)]
pub(crate) struct SnapshotList {
    pinned: Mutex<BTreeMap<u64, u32>>,
}

impl SnapshotList {
    /// A snapshot at the sequence `published` holds now.
    pub(crate) fn create(self: &Arc<Self>, published: &AtomicU64) -> Snapshot {
        let mut pinned = self.pinned.lock();
        let sequence = published.load(Acquire);
        *pinned.entry(sequence).or_insert(0) += 1;
        Snapshot {
            sequence,
            list: Arc::clone(self),
        }
    }

    /// The smallest sequence a reader may still read at: the oldest snapshot's, or the
    /// published sequence if there is none. Versions older than the newest version at or
    /// below it are invisible to every reader.
    // Used by the flush and compaction drop rules (the flush thread comes next).
    #[allow(dead_code)]
    pub(crate) fn smallest_or(&self, published: &AtomicU64) -> u64 {
        let pinned = self.pinned.lock();
        let now = published.load(Acquire);
        pinned.keys().next().map_or(now, |&s| s.min(now))
    }

    /// How many snapshots are live.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.pinned.lock().values().map(|&n| n as usize).sum()
    }

    fn release(&self, sequence: u64) {
        let mut pinned = self.pinned.lock();
        if let Some(n) = pinned.get_mut(&sequence) {
            *n -= 1;
            if *n == 0 {
                pinned.remove(&sequence);
            }
        }
    }
}

/// A consistent point-in-time view: reads through [`ReadOptions`](crate::ReadOptions) with
/// this snapshot see the database as it was when [`DB::snapshot`](crate::DB::snapshot) made
/// it. Owned (`'static`, `Send + Sync`): it may outlive the borrow of the database and move
/// between threads; dropping it releases it.
#[derive(Debug)]
pub struct Snapshot {
    sequence: u64,
    list: Arc<SnapshotList>,
}

impl Snapshot {
    /// The sequence number this snapshot reads at.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.list.release(self.sequence);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Release;

    #[test]
    fn the_smallest_live_snapshot_bounds_what_jobs_may_drop() {
        let list = Arc::new(SnapshotList::default());
        let published = AtomicU64::new(5);
        assert_eq!(list.smallest_or(&published), 5);
        let a = list.create(&published);
        let a2 = list.create(&published);
        published.store(9, Release);
        let b = list.create(&published);
        assert_eq!((a.sequence(), b.sequence()), (5, 9));
        assert_eq!(list.len(), 3);
        assert_eq!(list.smallest_or(&published), 5);
        drop(a);
        assert_eq!(
            list.smallest_or(&published),
            5,
            "a second snapshot at 5 is live"
        );
        drop(a2);
        assert_eq!(list.smallest_or(&published), 9);
        drop(b);
        published.store(12, Release);
        assert_eq!(list.smallest_or(&published), 12);
        assert_eq!(list.len(), 0);
    }
}
