//! include/groupkv.h must be exactly what cbindgen generates from src/capi/ and cbindgen.toml.
//! `make header` (GROUPKV_BLESS_HEADER=1) rewrites it; otherwise a stale header fails here.
//! Not built for the loom models (`--cfg loom`), which do not need cbindgen.
#![cfg(not(loom))]

use std::path::Path;

fn generate() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml"))
        .expect("cbindgen.toml should parse");
    // Only src/capi (and its submodules) is parsed: public items elsewhere in the core are
    // not part of the C API, and new ones must not leak into the header.
    let bindings = cbindgen::Builder::new()
        .with_src(root.join("src/capi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen should generate the header from src/capi");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn checked_in_header_is_fresh() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/groupkv.h");
    let fresh = generate();
    if std::env::var_os("GROUPKV_BLESS_HEADER").is_some() {
        std::fs::write(&path, &fresh).expect("writing include/groupkv.h");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != fresh {
        let line = checked_in
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the end".to_string(), |n| format!("line {}", n + 1));
        panic!(
            "include/groupkv.h is stale (first difference at {line}); run `make header` and \
             commit the result"
        );
    }
}

#[test]
fn header_documents_every_function() {
    let header = generate();
    let lines: Vec<&str> = header.lines().collect();
    let mut functions = 0;
    for (i, line) in lines.iter().enumerate() {
        let is_decl = line.contains("groupkv_")
            && line.contains('(')
            && !line.starts_with(' ')
            && !line.starts_with('#')
            && !line.starts_with("typedef")
            && !line.starts_with(" *")
            && !line.starts_with("/*");
        if is_decl {
            functions += 1;
            assert!(
                i > 0 && lines[i - 1].trim_end().ends_with("*/"),
                "function without a doc comment: {line}"
            );
        }
    }
    assert!(
        functions >= 40,
        "found only {functions} function declarations"
    );
    assert!(header.contains("#ifndef GROUPKV_H"));
    assert!(header.contains("DO NOT EDIT"));
    assert!(header.contains("extern \"C\""));
    assert!(header.contains("#define GROUPKV_VERSION_MAJOR"));
    assert!(
        !header.contains("groupkv_testing_"),
        "test hooks leaked into the header"
    );
}

/// Everything the header declares is in groupkv's namespace: a new `pub const` or type in the
/// Rust core that cbindgen picks up must be excluded in cbindgen.toml, not leak into C.
#[test]
fn header_declares_only_groupkv_names() {
    let header = generate();
    for line in header.lines() {
        let name = if let Some(rest) = line.strip_prefix("#define ") {
            rest.split_whitespace().next()
        } else if let Some(rest) = line.strip_prefix("typedef struct ") {
            rest.split_whitespace().next()
        } else if let Some(rest) = line.strip_prefix("typedef enum ") {
            rest.split_whitespace().next()
        } else {
            None
        };
        if let Some(name) = name {
            assert!(
                name.starts_with("groupkv_") || name.starts_with("GROUPKV_"),
                "the header declares {name}, outside groupkv's namespace; exclude it in \
                 cbindgen.toml"
            );
        }
    }
}
