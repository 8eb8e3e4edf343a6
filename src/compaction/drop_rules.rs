//! Which entries a compaction may leave out of its outputs: LevelDB's two rules from
//! `DBImpl::DoCompactionWork`, applied to the merged input stream in internal-key order (each
//! user key's entries newest first).
//!
//! * **(A) shadowed**: an entry is dropped when a newer entry of the same user key has a
//!   sequence ≤ the smallest live snapshot. Every reader (each snapshot, and the latest
//!   sequence) reads at a sequence ≥ that one, so each of them sees the newer entry, or one
//!   newer still, first: none can ever read the older one.
//! * **(B) obsolete tombstone**: a deletion with a sequence ≤ the smallest snapshot is dropped
//!   when no level below the output level holds its user key
//!   ([`Compaction::is_base_level_for_key`](super::Compaction::is_base_level_for_key)). Every
//!   reader sees the deletion (or something newer) and nothing older survives to be
//!   uncovered: older entries in the inputs are dropped by rule (A) right after it (the
//!   tombstone's sequence is ≤ the snapshot), levels above the inputs hold only newer
//!   entries, and no deeper level holds the key at all.
//!
//! Only the *smallest* snapshot counts, as in LevelDB: an entry visible only to a newer
//! snapshot is kept even when it is hidden from every other reader. RocksDB drops more (one
//! version per stripe between consecutive snapshots); keeping more is safe, only larger.

use crate::dbformat::{ParsedInternalKey, ValueKind, MAX_SEQUENCE};

/// What the rules say about one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Written to the output.
    Keep,
    /// Rule (A): a newer entry of the same key, visible to every reader, hides it.
    Shadowed,
    /// Rule (B): a deletion no reader needs, with nothing below it to hide.
    ObsoleteTombstone,
}

/// The per-key state of the rules while a compaction walks its merged inputs.
#[derive(Debug, Clone)]
pub struct DropRules {
    smallest_snapshot: u64,
    /// The user key of the entries being walked; `None` before the first entry and after an
    /// entry whose internal key did not parse.
    current_user_key: Option<Vec<u8>>,
    /// The sequence of the previous (newer) entry of the current user key; [`MAX_SEQUENCE`]
    /// plus one for its first entry, so that rule (A) never drops it.
    last_sequence_for_key: u64,
}

impl DropRules {
    /// Rules for a compaction that no reader below `smallest_snapshot` can observe: the
    /// oldest live snapshot, or the latest sequence when there is no snapshot.
    pub fn new(smallest_snapshot: u64) -> Self {
        DropRules {
            smallest_snapshot,
            current_user_key: None,
            last_sequence_for_key: NO_NEWER_ENTRY,
        }
    }

    /// The smallest snapshot the rules protect.
    pub fn smallest_snapshot(&self) -> u64 {
        self.smallest_snapshot
    }

    /// Decides about the next entry of the merged stream. `is_base_level` answers whether no
    /// level below the output holds the user key; it is asked only for a deletion that rule
    /// (A) keeps and no snapshot needs, and always in ascending key order.
    pub fn decide(
        &mut self,
        key: &ParsedInternalKey<'_>,
        is_base_level: impl FnOnce(&[u8]) -> bool,
    ) -> Decision {
        if self.current_user_key.as_deref() != Some(key.user_key) {
            // The first (newest) entry of this user key.
            match &mut self.current_user_key {
                Some(current) => {
                    current.clear();
                    current.extend_from_slice(key.user_key);
                }
                None => self.current_user_key = Some(key.user_key.to_vec()),
            }
            self.last_sequence_for_key = NO_NEWER_ENTRY;
        }
        let decision = if self.last_sequence_for_key <= self.smallest_snapshot {
            Decision::Shadowed
        } else if key.kind == ValueKind::Deletion
            && key.sequence <= self.smallest_snapshot
            && is_base_level(key.user_key)
        {
            Decision::ObsoleteTombstone
        } else {
            Decision::Keep
        };
        self.last_sequence_for_key = key.sequence;
        decision
    }

    /// An entry whose internal key does not parse: it is kept (LevelDB: "do not hide error
    /// keys"), and the next entry starts a new user key, so nothing is dropped because of it.
    pub fn forget_current_key(&mut self) {
        self.current_user_key = None;
        self.last_sequence_for_key = NO_NEWER_ENTRY;
    }
}

/// Larger than any sequence, so the newest entry of a key is never "shadowed".
const NO_NEWER_ENTRY: u64 = MAX_SEQUENCE + 1;

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(user_key: &[u8], sequence: u64, kind: ValueKind) -> ParsedInternalKey<'_> {
        ParsedInternalKey {
            user_key,
            sequence,
            kind,
        }
    }

    /// Runs the rules over `(key, seq, kind)` entries (in internal-key order) and returns the
    /// decisions; `base` says whether every key is at its base level.
    fn run(snapshot: u64, base: bool, entries: &[(&str, u64, ValueKind)]) -> Vec<Decision> {
        let mut rules = DropRules::new(snapshot);
        entries
            .iter()
            .map(|(k, s, kind)| rules.decide(&entry(k.as_bytes(), *s, *kind), |_| base))
            .collect()
    }

    use Decision::{Keep, ObsoleteTombstone as Tomb, Shadowed};
    use ValueKind::{Deletion as D, Value as V};

    #[test]
    fn newest_entry_is_kept_even_at_the_largest_snapshot() {
        assert_eq!(run(MAX_SEQUENCE, true, &[("a", MAX_SEQUENCE, V)]), [Keep]);
    }

    #[test]
    fn snapshots_between_versions_keep_what_they_see() {
        let e = [("k", 5, V), ("k", 3, V), ("k", 1, V)];
        assert_eq!(run(2, true, &e), [Keep, Keep, Keep]);
        assert_eq!(run(3, true, &e), [Keep, Keep, Shadowed]);
        assert_eq!(run(4, true, &e), [Keep, Keep, Shadowed]);
        assert_eq!(run(5, true, &e), [Keep, Shadowed, Shadowed]);
    }

    #[test]
    fn tombstones_go_only_at_the_base_level_below_the_snapshot() {
        let e = [("k", 5, D), ("k", 3, V)];
        assert_eq!(run(5, true, &e), [Tomb, Shadowed]);
        assert_eq!(run(4, true, &e), [Keep, Keep]);
        assert_eq!(run(5, false, &e), [Keep, Shadowed]);
    }

    #[test]
    fn a_new_user_key_resets_the_rules() {
        let e = [
            ("a", 9, V),
            ("a", 4, V),
            ("a", 2, V),
            ("b", 1, V),
            ("c", 4, D),
        ];
        assert_eq!(run(5, true, &e), [Keep, Keep, Shadowed, Keep, Tomb]);
    }

    #[test]
    fn base_level_is_asked_only_for_droppable_tombstones() {
        let mut asked = Vec::new();
        let mut rules = DropRules::new(5);
        for (k, s, kind) in [
            ("a", 9, D),
            ("a", 7, D),
            ("b", 3, V),
            ("c", 2, D),
            ("c", 1, D),
        ] {
            rules.decide(&entry(k.as_bytes(), s, kind), |u| {
                asked.push(u.to_vec());
                true
            });
        }
        // "a"@9 and "a"@7 are above the snapshot, "b" is a value, "c"@1 is shadowed by "c"@2.
        assert_eq!(asked, vec![b"c".to_vec()]);
    }

    #[test]
    fn an_unparsed_entry_protects_the_next_one() {
        let mut rules = DropRules::new(10);
        assert_eq!(rules.decide(&entry(b"k", 5, V), |_| true), Keep);
        rules.forget_current_key();
        assert_eq!(rules.decide(&entry(b"k", 3, V), |_| true), Keep);
    }
}
