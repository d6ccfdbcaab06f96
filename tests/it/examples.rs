//! Every command shown in examples/README.md, run for real.
//!
//! The README's fenced `sh` blocks are parsed; each line is one command
//! whose leading `moodlec` is replaced by the built binary, run from the
//! repository root. Its stdout, stderr and exit code must equal
//! `examples/expected/<n>-<slug>.{out,err,code}` (`BLESS=1 cargo test --test
//! it examples::` rewrites them; review the diff). Each example section lists its
//! bad rows ("Bad rows: ... (row 5) ..."): validate and render must report
//! exactly those records, and render must send exactly the others.

use std::collections::BTreeSet;
use std::path::Path;

use crate::harness::{self, Moodlec};

/// One command of the README, in its section.
struct Example {
    /// 1-based position in the README.
    number: usize,
    /// The section's heading, e.g. `hr-staff`.
    section: String,
    /// Arguments after `moodlec`.
    args: Vec<String>,
}

/// A section's bad rows, by section name.
struct Section {
    name: String,
    bad_rows: BTreeSet<u64>,
}

/// Split a command line like a POSIX shell does for simple quoting.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// The commands and sections of examples/README.md.
fn parse_readme(text: &str) -> (Vec<Example>, Vec<Section>) {
    let (mut examples, mut sections) = (Vec::new(), Vec::<Section>::new());
    let (mut section, mut in_sh, mut in_bad_rows) = (String::new(), false, false);
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(heading) = line.strip_prefix("## ") {
            section = heading.split(':').next().unwrap_or(heading).trim().to_owned();
            sections.push(Section {
                name: section.clone(),
                bad_rows: BTreeSet::new(),
            });
        } else if trimmed.starts_with("```") {
            in_sh = !in_sh && trimmed == "```sh";
        } else if in_sh && !trimmed.is_empty() && !trimmed.starts_with('#') {
            let words = shell_words(trimmed);
            assert_eq!(
                words.first().map(String::as_str),
                Some("moodlec"),
                "not a moodlec command: {line}"
            );
            examples.push(Example {
                number: examples.len() + 1,
                section: section.clone(),
                args: words[1..].to_vec(),
            });
        }
        in_bad_rows = (in_bad_rows && !trimmed.is_empty()) || trimmed.starts_with("Bad rows:");
        if in_bad_rows {
            let current = sections.last_mut().expect("Bad rows inside a section");
            // Every "(...)" group of the paragraph names one row: "(row 5)" or "(5)".
            for group in line.split('(').skip(1) {
                let inside = group.split(')').next().unwrap_or("");
                let number: String = inside.chars().filter(char::is_ascii_digit).collect();
                if let Ok(row) = number.parse() {
                    current.bad_rows.insert(row);
                }
            }
        }
    }
    (examples, sections)
}

impl Example {
    /// `03-render-hr_staff-staff-format-json`: the file stem of each path, flags without dashes.
    fn name(&self) -> String {
        let mut parts = Vec::new();
        let mut skip_next = false;
        for arg in &self.args {
            if std::mem::take(&mut skip_next) {
                continue;
            }
            match arg.as_str() {
                "-t" | "--template" => continue,
                "--url" => skip_next = true,
                _ => {}
            }
            let path = Path::new(arg);
            let part = if arg.contains('/') {
                path.file_stem()
                    .map_or(arg.clone(), |s| s.to_string_lossy().into_owned())
            } else {
                arg.trim_start_matches('-').to_owned()
            };
            parts.push(part);
        }
        let slug: String = parts
            .join("-")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{:02}-{slug}", self.number)
    }
}

/// stdout, stderr and the exit code of one example.
fn run(example: &Example) -> [String; 3] {
    let output = Moodlec::new(&example.args)
        .current_dir(harness::repo_root())
        .output();
    [
        output.stdout,
        output.stderr,
        format!("{}\n", output.code.map_or("signal".to_owned(), |c| c.to_string())),
    ]
}

/// The numbers after `key` in `text`, e.g. "record 5 (line 6)" with key "record ".
fn numbers_after(text: &str, key: &str) -> BTreeSet<u64> {
    text.match_indices(key)
        .filter_map(|(at, _)| {
            let digits: String = text[at + key.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

/// Records the output reports as bad, records it sends, and the total read.
fn verdicts(args: &[String], [out, err, _]: &[String; 3]) -> (BTreeSet<u64>, Option<BTreeSet<u64>>, u64) {
    let all = format!("{out}{err}");
    // `--format json` of validate: one document on stdout.
    let report = (args[0] == "validate")
        .then(|| serde_json::from_str::<serde_json::Value>(out).ok())
        .flatten();
    let total = numbers_after(&all, "records read: ")
        .into_iter()
        .chain(report.as_ref().and_then(|r| r["summary"]["records"].as_u64()))
        .next()
        .unwrap_or(0);
    if args[0] == "validate" {
        assert!(total > 0, "{args:?}: no count of the records read\n{out}{err}");
    }
    let mut reported = numbers_after(err, "× record ");
    // Errors only: a warning's record is still valid (and sent).
    if let Some(report) = &report {
        let diagnostics = report["diagnostics"].as_array().cloned().unwrap_or_default();
        reported.extend(
            diagnostics
                .iter()
                .filter(|d| d["severity"] == "error")
                .filter_map(|d| d["record"].as_u64()),
        );
    }
    let format = args
        .iter()
        .position(|a| a == "--format")
        .and_then(|i| args.get(i + 1));
    let sent = match (args[0].as_str(), format.map(String::as_str)) {
        ("render", Some("json")) => Some(
            out.lines()
                .flat_map(|l| {
                    let batch: serde_json::Value = serde_json::from_str(l).expect("JSON batch");
                    let records = batch["records"].as_array().cloned().unwrap_or_default();
                    records.into_iter().filter_map(|r| r.as_u64())
                })
                .collect(),
        ),
        ("render", Some("curl")) => Some(
            out.lines()
                .filter_map(|l| l.split_once(": records ").map(|(_, list)| list.to_owned()))
                .flat_map(|list| {
                    list.split(',')
                        .filter_map(|n| n.parse().ok())
                        .collect::<Vec<u64>>()
                })
                .collect(),
        ),
        _ => None,
    };
    if args[0] == "render" {
        // Count the records of every body (form and http): distinct `wrap[i]` prefixes per request.
        let sent_count: usize = out
            .lines()
            .filter(|l| l.starts_with("wstoken="))
            .map(|body| {
                let prefixes: BTreeSet<&str> = body
                    .split('&')
                    .filter_map(|pair| pair.split_once("][").map(|(prefix, _)| prefix))
                    .collect();
                prefixes.len()
            })
            .sum();
        if sent.is_none() {
            let good = usize::try_from(total).unwrap_or(0) - reported.len();
            assert_eq!(
                sent_count, good,
                "{args:?}: requests should carry the {good} good rows"
            );
        }
    }
    (reported, sent, total)
}

#[test]
fn examples_in_the_readme_give_the_expected_output() {
    let root = harness::repo_root();
    let readme = std::fs::read_to_string(root.join("examples/README.md")).expect("examples/README.md");
    let (examples, sections) = parse_readme(&readme);
    assert!(
        examples.len() >= 9,
        "found only {} commands in examples/README.md",
        examples.len()
    );
    let expected_dir = root.join("examples/expected");
    let bless = harness::bless();
    if bless {
        std::fs::create_dir_all(&expected_dir).expect("create examples/expected");
    }
    let mut failures = Vec::new();
    let mut known = BTreeSet::new();
    for example in &examples {
        let name = example.name();
        let actual = run(example);
        for (extension, text) in ["out", "err", "code"].iter().zip(&actual) {
            let file = format!("{name}.{extension}");
            known.insert(file.clone());
            let path = expected_dir.join(&file);
            if bless {
                std::fs::write(&path, text).expect("write expectation");
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                failures.push(format!(
                    "examples/expected/{file} differs from `moodlec {}`",
                    example.args.join(" ")
                ));
            }
        }
        if !matches!(example.args[0].as_str(), "validate" | "render") {
            continue;
        }
        let section = sections
            .iter()
            .find(|s| s.name == example.section)
            .expect("section");
        assert!(
            !section.bad_rows.is_empty(),
            "section {} lists no bad rows",
            section.name
        );
        let (reported, sent, total) = verdicts(&example.args, &actual);
        let good: BTreeSet<u64> = (1..=total).filter(|r| !section.bad_rows.contains(r)).collect();
        if reported != section.bad_rows {
            failures.push(format!(
                "{name}: reports records {reported:?}, README lists bad rows {:?}",
                section.bad_rows
            ));
        }
        if let Some(sent) = sent.filter(|s| *s != good) {
            failures.push(format!(
                "{name}: sends records {sent:?}, the good rows are {good:?}"
            ));
        }
    }
    if !bless {
        let stale: Vec<String> = std::fs::read_dir(&expected_dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        failures.extend(
            stale
                .into_iter()
                .filter(|f| !known.contains(f))
                .map(|f| format!("examples/expected/{f} belongs to no command")),
        );
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// Every template file the project ships (built-ins in templates/, the
/// examples' templates) is in `moodlec fmt`'s canonical form.
#[test]
fn every_shipped_template_file_is_formatted() {
    fn moodle_files(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                moodle_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "moodle") {
                out.push(path.display().to_string());
            }
        }
    }
    let root = harness::repo_root();
    let mut files = Vec::new();
    moodle_files(&root.join("templates"), &mut files);
    moodle_files(&root.join("examples"), &mut files);
    files.sort();
    assert!(files.len() >= 30, "found {files:?}");
    let mut args = vec!["fmt".to_owned(), "--check".to_owned()];
    args.extend(files);
    let out = Moodlec::new(&args).current_dir(&root).output();
    assert_eq!(out.code, Some(0), "run `moodlec fmt` on these:\n{}", out.all());
}
