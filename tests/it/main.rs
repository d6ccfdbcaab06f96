//! moodlec's integration tests: one test binary (`cargo test --test it`),
//! one module per area, and the Moodle simulator (`simulator/`) compiled
//! once for all of them.
//!
//! `cargo test --test it run::` runs one module's tests; any substring of
//! `module::test_name` filters. Two environment variables:
//!
//! - `BLESS=1` rewrites golden files instead of comparing them (see
//!   `harness::bless`); review the diff.
//! - `MOODLEC_TEST_SEED=N` replays the kill -9 test of `run` with the seed a
//!   failure printed; it takes one from the clock otherwise.

mod harness;
mod simulator;

mod builtins;
mod catalogue;
mod cli;
mod cli_errors;
mod cli_records;
mod compiler;
mod concurrency;
mod examples;
mod fault_matrix;
mod fetch;
mod fixtures;
mod fmt_check;
mod form_roundtrip;
mod golden;
mod golden_records;
mod lookups;
mod man_page;
mod masking;
mod memory;
mod progress;
mod properties;
mod readme;
mod readme_ci;
mod reports;
mod results_lines;
mod run;
mod schema;
mod simulator_behaviour;
mod simulator_sync;
mod site_facts;
mod site_faults;
mod sites;
mod sync;
mod token_scan;

/// Every test is built into this binary: Cargo builds no other test target
/// (`autotests = false`), so a file straight in tests/ would never run, and
/// neither would a file here that main.rs does not declare.
#[test]
fn every_test_file_is_a_module_of_this_binary() {
    let tests = harness::repo_root().join("tests");
    let names = |dir: &std::path::Path| -> Vec<(String, bool)> {
        let mut names: Vec<(String, bool)> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("folder entry").path())
            .map(|path| {
                let name = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                (name, path.is_dir())
            })
            .collect();
        names.sort();
        names
    };
    let strays: Vec<String> = names(&tests)
        .into_iter()
        .filter(|(name, is_dir)| {
            if *is_dir {
                name != "it" && tests.join(name).join("main.rs").exists()
            } else {
                name.ends_with(".rs")
            }
        })
        .map(|(name, _)| format!("tests/{name}"))
        .collect();
    assert!(
        strays.is_empty(),
        "test files outside tests/it (move them into tests/it as modules): {strays:?}"
    );
    let main = std::fs::read_to_string(tests.join("it/main.rs")).expect("tests/it/main.rs");
    let modules: Vec<String> = names(&tests.join("it"))
        .into_iter()
        .filter_map(|(name, is_dir)| match name.strip_suffix(".rs") {
            Some("main") => None,
            Some(stem) if !is_dir => Some(stem.to_owned()),
            _ => is_dir.then_some(name),
        })
        .collect();
    assert!(modules.len() >= 15, "tests/it holds only {modules:?}");
    let undeclared: Vec<&String> = modules
        .iter()
        .filter(|module| !main.lines().any(|line| line == format!("mod {module};")))
        .collect();
    assert!(
        undeclared.is_empty(),
        "files in tests/it that main.rs does not declare (add `mod NAME;`): {undeclared:?}"
    );
}
