//! The README's quick start is `examples/quickstart.rs`, line for line, so what a
//! user pastes is a program that builds (cargo builds the example with the tests, and
//! the README's code blocks run as doc-tests).

use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn readme_quick_start_is_the_quickstart_example() {
    let readme = read("README.md");
    let section = &readme[readme
        .find("## Quick start")
        .expect("a Quick start section")..];
    let block_start = section.find("```rust\n").expect("a rust block") + "```rust\n".len();
    let block = &section[block_start..];
    let shown = &block[..block.find("```\n").expect("the block ends")];

    let example = read("examples/quickstart.rs");
    let code = &example[example
        .find("use npmap::")
        .expect("the example's first import")..];
    assert_eq!(
        shown, code,
        "README quick start and examples/quickstart.rs differ"
    );
    assert!(
        !shown.lines().any(|l| l.trim_start().starts_with("# ")),
        "the quick start must work when pasted: no hidden doc-test lines"
    );
}

#[test]
fn readme_zarr_section_is_the_zarr_example() {
    let readme = read("README.md");
    let section = &readme[readme
        .find("## When one machine is not enough")
        .expect("a Zarr section")..];
    let block_start =
        section.find("```rust,ignore\n").expect("a rust block") + "```rust,ignore\n".len();
    let block = &section[block_start..];
    let shown = &block[..block.find("```\n").expect("the block ends")];
    let example = read("examples/zarr.rs");
    let code = &example[example.find("use npmap::").expect("an import")..];
    assert_eq!(
        shown, code,
        "README Zarr section and examples/zarr.rs differ"
    );
}
