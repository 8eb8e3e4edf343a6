//! The rules every C export follows, checked on the source of src/capi/ so a new function
//! cannot forget them: named `groupkv_<object>_<verb>`, `#[no_mangle]`, and its whole body
//! inside a panic boundary (`ffi_status` or `ffi_value`), so a panic never unwinds into C.

use std::path::Path;

/// Exports that cannot panic and deliberately bypass the boundary.
const NO_BOUNDARY: &[&str] = &["groupkv_testing_panic_next_call"];

/// `(name, attributes before it, body)` of every `extern "C" fn` in `source`.
fn exports(source: &str) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("extern \"C\" fn ") {
        let before = &rest[..at];
        let after = &rest[at + "extern \"C\" fn ".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // Attributes: the lines between the previous item's end and this signature.
        let attrs = before
            .rsplit_once("\n}\n")
            .map_or(before, |(_, tail)| tail)
            .to_string();
        let open = after.find('{').expect("an export has a body");
        let mut depth = 0usize;
        let mut end = open;
        for (i, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        found.push((name, attrs, after[open..=end].to_string()));
        rest = &after[end..];
    }
    found
}

#[test]
fn every_export_is_named_unmangled_and_behind_a_panic_boundary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/capi");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("src/capi exists") {
        let path = entry.expect("readable entry").path();
        let source = std::fs::read_to_string(&path).expect("readable source");
        for (name, attrs, body) in exports(&source) {
            // Function-pointer types (callbacks) are not exports.
            if name.is_empty() {
                continue;
            }
            count += 1;
            let file = path.display();
            assert!(
                name.starts_with("groupkv_"),
                "{file}: export {name} is not groupkv_<object>_<verb>"
            );
            assert!(
                attrs.contains("#[no_mangle]"),
                "{file}: export {name} lacks #[no_mangle]"
            );
            assert!(
                attrs.contains("///"),
                "{file}: export {name} has no doc comment (the header copies it)"
            );
            if NO_BOUNDARY.contains(&name.as_str()) {
                continue;
            }
            let first = body
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && *l != "{" && !l.starts_with("//"))
                .unwrap_or("");
            assert!(
                first.starts_with("ffi_status(")
                    || first.starts_with("ffi_value(")
                    || first.starts_with("unsafe { with_"),
                "{file}: {name} must run its whole body inside ffi_status/ffi_value, \
                 found `{first}`"
            );
        }
    }
    assert!(count >= 40, "found only {count} exports in src/capi");
}
