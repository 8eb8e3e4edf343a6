//! The overlap queries of a level, as LevelDB's `db/version_set_test.cc` (`FindFileTest`)
//! pins them: `find_file` (binary search by largest key) and `some_file_overlaps_range` on
//! disjoint sorted files (levels > 0) and on overlapping ones (level 0), with open bounds.

use std::sync::Arc;

use groupkv::dbformat::{internal_key, ValueKind};
use groupkv::version::{find_file, some_file_overlaps_range, FileMetaData};

#[derive(Default)]
struct Files {
    files: Vec<Arc<FileMetaData>>,
    disjoint: bool,
}

impl Files {
    fn new() -> Self {
        Files {
            files: Vec::new(),
            disjoint: true,
        }
    }
    fn add(&mut self, smallest: &str, largest: &str) {
        self.add_seq(smallest, largest, 100, 100);
    }
    fn add_seq(&mut self, smallest: &str, largest: &str, sseq: u64, lseq: u64) {
        self.files.push(Arc::new(FileMetaData {
            number: self.files.len() as u64 + 1,
            file_size: 0,
            smallest: internal_key(smallest.as_bytes(), sseq, ValueKind::Value),
            largest: internal_key(largest.as_bytes(), lseq, ValueKind::Value),
        }));
    }
    fn find(&self, key: &str) -> usize {
        find_file(
            &self.files,
            &internal_key(key.as_bytes(), 100, ValueKind::Value),
        )
    }
    fn overlaps(&self, smallest: Option<&str>, largest: Option<&str>) -> bool {
        some_file_overlaps_range(
            self.disjoint,
            &self.files,
            smallest.map(str::as_bytes),
            largest.map(str::as_bytes),
        )
    }
}

#[test]
fn nothing_overlaps_an_empty_level() {
    let f = Files::new();
    assert_eq!(f.find("foo"), 0);
    assert!(!f.overlaps(Some("a"), Some("z")));
    assert!(!f.overlaps(None, Some("z")));
    assert!(!f.overlaps(Some("a"), None));
    assert!(!f.overlaps(None, None));
}

#[test]
fn one_file() {
    let mut f = Files::new();
    f.add("p", "q");
    for (key, want) in [("a", 0), ("p", 0), ("p1", 0), ("q", 0), ("q1", 1), ("z", 1)] {
        assert_eq!(f.find(key), want, "find {key}");
    }
    for (s, l) in [("a", "b"), ("z1", "z2")] {
        assert!(!f.overlaps(Some(s), Some(l)), "{s}..{l}");
    }
    for (s, l) in [
        ("a", "p"),
        ("a", "q"),
        ("a", "z"),
        ("p", "p1"),
        ("p", "q"),
        ("p", "z"),
        ("p1", "p2"),
        ("p1", "z"),
        ("q", "q"),
        ("q", "q1"),
    ] {
        assert!(f.overlaps(Some(s), Some(l)), "{s}..{l}");
    }
    assert!(!f.overlaps(None, Some("j")));
    assert!(!f.overlaps(Some("r"), None));
    assert!(f.overlaps(None, Some("p")));
    assert!(f.overlaps(None, Some("p1")));
    assert!(f.overlaps(Some("q"), None));
    assert!(f.overlaps(None, None));
}

fn four_files() -> Files {
    let mut f = Files::new();
    f.add("150", "200");
    f.add("200", "250");
    f.add("300", "350");
    f.add("400", "450");
    f
}

#[test]
fn several_files() {
    let f = four_files();
    for (key, want) in [
        ("100", 0),
        ("150", 0),
        ("151", 0),
        ("199", 0),
        ("200", 0),
        ("201", 1),
        ("249", 1),
        ("250", 1),
        ("251", 2),
        ("299", 2),
        ("300", 2),
        ("349", 2),
        ("350", 2),
        ("351", 3),
        ("400", 3),
        ("450", 3),
        ("451", 4),
    ] {
        assert_eq!(f.find(key), want, "find {key}");
    }
    for (s, l) in [
        ("100", "149"),
        ("251", "299"),
        ("451", "500"),
        ("351", "399"),
    ] {
        assert!(!f.overlaps(Some(s), Some(l)), "{s}..{l}");
    }
    for (s, l) in [
        ("100", "150"),
        ("100", "200"),
        ("100", "300"),
        ("100", "400"),
        ("100", "500"),
        ("375", "400"),
        ("450", "450"),
        ("450", "500"),
    ] {
        assert!(f.overlaps(Some(s), Some(l)), "{s}..{l}");
    }
}

#[test]
fn several_files_with_open_bounds() {
    let f = four_files();
    assert!(!f.overlaps(None, Some("149")));
    assert!(!f.overlaps(Some("451"), None));
    assert!(f.overlaps(None, None));
    for l in ["150", "199", "200", "201", "400", "800"] {
        assert!(f.overlaps(None, Some(l)), "..{l}");
    }
    for s in ["100", "200", "449", "450"] {
        assert!(f.overlaps(Some(s), None), "{s}..");
    }
}

#[test]
fn overlap_compares_user_keys_whatever_the_sequences() {
    let mut f = Files::new();
    f.add_seq("200", "200", 5000, 3000);
    assert!(!f.overlaps(Some("199"), Some("199")));
    assert!(!f.overlaps(Some("201"), Some("300")));
    assert!(f.overlaps(Some("200"), Some("200")));
    assert!(f.overlaps(Some("190"), Some("200")));
    assert!(f.overlaps(Some("200"), Some("210")));
}

#[test]
fn overlapping_files_are_each_checked() {
    let mut f = Files::new();
    f.add("150", "600");
    f.add("400", "500");
    f.disjoint = false;
    assert!(!f.overlaps(Some("100"), Some("149")));
    assert!(!f.overlaps(Some("601"), Some("700")));
    for (s, l) in [
        ("100", "150"),
        ("100", "200"),
        ("100", "300"),
        ("100", "400"),
        ("100", "500"),
        ("375", "400"),
        ("450", "450"),
        ("450", "500"),
        ("450", "700"),
        ("600", "700"),
    ] {
        assert!(f.overlaps(Some(s), Some(l)), "{s}..{l}");
    }
}
