//! The README's examples are executable: its templates compile, and the
//! diagnostic it shows is what `moodlec check` prints.

use moodlec::builtin;
use moodlec::check::compile;
use moodlec::diagnostic::Source;

use crate::harness::{self, Moodlec};

fn readme() -> String {
    std::fs::read_to_string(harness::repo_root().join("README.md")).expect("README.md")
}

/// The bodies of the README's ```text blocks.
fn text_blocks(readme: &str) -> Vec<String> {
    readme
        .split("```text\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(body, _)| body.to_owned()))
        .collect()
}

#[test]
fn readme_templates_compile() {
    let templates: Vec<String> = text_blocks(&readme())
        .into_iter()
        .filter(|b| b.starts_with("template "))
        .collect();
    assert!(
        templates.len() >= 2,
        "the README shows the language and a custom template"
    );
    for (index, text) in templates.iter().enumerate() {
        let compiled = compile(
            &[Source::new(format!("README block {index}"), text.as_str())],
            builtin::catalog(),
        );
        // Errors only: the README shows the built-in `enrol_users`, which,
        // compiled on top of the built-ins, is rightly warned about as replacing one.
        let problems: Vec<String> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        assert!(
            problems.is_empty(),
            "README template {index} has problems: {problems:?}\n{text}"
        );
    }
}

#[test]
fn readme_diagnostic_is_what_check_prints() {
    let readme = readme();
    let shown = text_blocks(&readme)
        .into_iter()
        .find(|b| b.contains("unknown type `integr`"))
        .expect("README shows an unknown-type diagnostic");
    let dir = harness::scratch("readme-diagnostic");
    std::fs::write(
        dir.join("template.moodle"),
        "template people {\n  function core_user_create_users\n  wrap users\n  field age:   integr\n}\n",
    )
    .expect("write template");
    let output = Moodlec::new(["check", "template.moodle"])
        .current_dir(&dir)
        .output();
    assert_eq!(output.code, Some(2));
    let stderr = &output.stderr;
    assert!(
        stderr.contains(shown.trim_end()),
        "README block:\n{shown}\nactual:\n{stderr}"
    );
}
