//! The README's promises about CI: its first command runs the main job on a
//! shipped example, and every `moodlec` line of its "Use in CI" snippets
//! runs and writes reports that CI systems can read.

use std::path::Path;

use serde_json::Value;

use crate::harness::{self, scratch, Moodlec};

fn readme() -> String {
    std::fs::read_to_string(harness::repo_root().join("README.md")).expect("README.md")
}

/// Split a command line on spaces (the snippets quote nothing).
fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn the_first_command_of_the_readme_gives_moodles_verdict_on_a_shipped_example() {
    let readme = readme();
    let block = readme.split("```sh\n").nth(1).expect("a sh block");
    let first = block.lines().next().expect("a first line");
    let command = first.split('#').next().unwrap().trim();
    let args = command
        .strip_prefix("cargo run --release -- ")
        .unwrap_or_else(|| panic!("the first command builds and runs moodlec: {first}"));
    assert!(
        args.starts_with("validate "),
        "the first command validates data: {first}"
    );
    let out = Moodlec::new(words(args))
        .current_dir(harness::repo_root())
        .output();
    // The example holds bad records on purpose: exit 1, each shown at its line.
    out.code(1).stderr_has("records read: 11, valid: 7, invalid: 4");
    assert!(
        readme.contains("7 records are valid, 4 are not"),
        "the README says what it prints"
    );
    for line in ["(line 8)", "(line 9)", "(line 10)", "(line 11)"] {
        out.stderr_has(line);
    }
    let second = block.lines().nth(1).expect("a second line");
    let args = second
        .split('#')
        .next()
        .unwrap()
        .trim()
        .strip_prefix("cargo run --release -- ")
        .unwrap();
    let out = Moodlec::new(words(args))
        .current_dir(harness::repo_root())
        .output();
    out.stdout_has("wsfunction=enrol_manual_enrol_users&")
        .stdout_has("enrolments[0][userid]=412");
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "--limit 1: one request\n{}",
        out.stdout
    );
}

/// The `moodlec` lines of the "Use in CI" section, as written.
fn ci_commands(readme: &str) -> Vec<String> {
    let start = readme.find("## Use in CI").expect("a Use in CI section");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |e| e + 3);
    section[..end]
        .lines()
        .filter_map(|line| {
            let line = line.trim().trim_start_matches("- ").trim_start_matches("run: ");
            line.starts_with("moodlec ").then(|| line.to_owned())
        })
        .collect()
}

/// `templates/*.moodle` expanded as the shell would, in `dir`.
fn expand(dir: &Path, word: &str) -> Vec<String> {
    let Some((folder, pattern)) = word.split_once("/*") else {
        return vec![word.to_owned()];
    };
    let mut found: Vec<String> = std::fs::read_dir(dir.join(folder))
        .expect("folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(pattern))
        .map(|name| format!("{folder}/{name}"))
        .collect();
    found.sort();
    found
}

/// Files a command writes: `-o FILE` and `--report FORMAT=FILE`.
fn written(words: &[String]) -> Vec<(String, String)> {
    let format = words
        .windows(2)
        .find(|w| w[0] == "--format")
        .map_or("human".to_owned(), |w| w[1].clone());
    let mut files = Vec::new();
    for pair in words.windows(2) {
        if pair[0] == "-o" {
            files.push((format.clone(), pair[1].clone()));
        }
        if pair[0] == "--report" {
            let (f, file) = pair[1].split_once('=').expect("FORMAT=FILE");
            files.push((f.to_owned(), file.to_owned()));
        }
    }
    files
}

#[test]
fn every_moodlec_line_of_the_ci_snippets_runs_and_writes_readable_reports() {
    let commands = ci_commands(&readme());
    assert!(
        commands.len() >= 4,
        "GitHub and GitLab each check and validate: {commands:#?}"
    );
    let sarif_schema: Value = serde_json::from_str(
        &std::fs::read_to_string(harness::repo_root().join("tests/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let sarif = jsonschema::draft7::options()
        .build(&sarif_schema)
        .expect("SARIF schema");
    let example = harness::repo_root().join("examples/hr-enrolments");
    let mut formats_seen = Vec::new();
    for (n, command) in commands.iter().enumerate() {
        let dir = scratch(&format!("readme-ci-{n}"));
        for folder in ["templates", "data", "reports"] {
            std::fs::create_dir_all(dir.join(folder)).unwrap();
        }
        std::fs::copy(
            example.join("hr_enrol.moodle"),
            dir.join("templates/hr_enrol.moodle"),
        )
        .unwrap();
        std::fs::copy(example.join("enrolments.csv"), dir.join("data/enrolments.csv")).unwrap();
        let words: Vec<String> = words(command)
            .into_iter()
            .skip(1)
            .flat_map(|w| expand(&dir, &w))
            .collect();
        let out = Moodlec::new(&words).current_dir(&dir).output();
        // 0: all good; 1: the example's bad record (a row without an email).
        assert!(matches!(out.code, Some(0 | 1)), "{command}\n{out:#?}");
        for (format, file) in written(&words) {
            let text =
                std::fs::read_to_string(dir.join(&file)).unwrap_or_else(|e| panic!("{command}: {file}: {e}"));
            match format.as_str() {
                "junit" => {
                    let suites = junit_parser::from_reader(std::io::Cursor::new(text.as_bytes()))
                        .unwrap_or_else(|e| panic!("{command}: {file}: {e}"));
                    assert!(suites.tests > 0, "{command}: {text}");
                }
                "sarif" => {
                    let document: Value = serde_json::from_str(&text).unwrap();
                    assert!(sarif.is_valid(&document), "{command}: {text}");
                }
                "markdown" => assert!(text.starts_with("### "), "{command}: {text}"),
                other => panic!("{command}: a report in {other}"),
            }
            formats_seen.push(format);
        }
    }
    for format in ["junit", "sarif"] {
        assert!(
            formats_seen.iter().any(|f| f == format),
            "the snippets publish {format}"
        );
    }
}
