//! The quick-starts the READMEs show are the examples a test runs: the
//! crate's front page (`README.md`, compiled as its doc tests) and the
//! workspace README show each example's code as it is.

use std::path::Path;

/// The code of `examples/NAME.rs`, less its leading `//!` comment.
fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(format!("{name}.rs"));
    let text = std::fs::read_to_string(&path).expect("the example exists");
    text.lines()
        .skip_while(|l| l.starts_with("//!") || l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `rust` code blocks of a Markdown text.
fn rust_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("```rust") {
        let after = &rest[start..];
        let body_at = after.find('\n').map_or(after.len(), |i| i + 1);
        let body = &after[body_at..];
        let end = body.find("```").unwrap_or(body.len());
        blocks.push(body[..end].trim_end().to_owned());
        rest = &body[end..];
    }
    blocks
}

#[test]
fn the_front_page_shows_the_tokio_and_smol_examples_as_they_are() {
    let page = include_str!("../README.md");
    let blocks = rust_blocks(page);
    for name in ["tokio", "smol"] {
        assert!(
            blocks.contains(&example(name)),
            "README.md does not show examples/{name}.rs as it is"
        );
    }
    assert!(
        blocks.iter().all(|b| b.lines().count() < 20),
        "a quick-start is shown in under 20 lines"
    );
}

#[test]
fn the_workspace_readme_shows_the_tokio_example_as_it_is() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let Ok(readme) = std::fs::read_to_string(&path) else {
        eprintln!("SKIPPED: no workspace README beside this crate (a packaged crate)");
        return;
    };
    assert!(
        rust_blocks(&readme).contains(&example("tokio")),
        "the workspace README does not show examples/tokio.rs as it is"
    );
}
