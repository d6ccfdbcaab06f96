//! `moodlec fmt --check`: a unified diff per unformatted file on stdout, its
//! name on stderr, exit 1.
//!
//! tests/golden/fmt/ holds `input.moodle` (not formatted, on purpose) and
//! `expected.diff`, the exact stdout of `moodlec fmt --check input.moodle`
//! run in that folder; `BLESS=1 cargo test --test it fmt_check::` rewrites
//! the diff (review it).

use crate::harness::{self, Moodlec};

#[test]
fn check_prints_a_unified_diff_that_patch_applies() {
    let golden = harness::repo_root().join("tests/golden/fmt");
    let out = Moodlec::new(["fmt", "--check", "input.moodle"])
        .current_dir(&golden)
        .output();
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert_eq!(out.stderr, "would reformat input.moodle\n");
    let expected_path = golden.join("expected.diff");
    if harness::bless() {
        std::fs::write(&expected_path, &out.stdout).expect("write expected.diff");
    }
    let expected = std::fs::read_to_string(&expected_path).expect("tests/golden/fmt/expected.diff");
    assert_eq!(
        out.stdout, expected,
        "the diff differs from expected.diff (BLESS=1 to accept)"
    );
    // The shape: git's headers, hunks with 3 lines of context.
    assert!(
        out.stdout
            .starts_with("--- a/input.moodle\n+++ b/input.moodle\n@@ -"),
        "{}",
        out.stdout
    );
    let hunks = out.stdout.lines().filter(|l| l.starts_with("@@ ")).count();
    assert_eq!(hunks, 2, "two hunks:\n{}", out.stdout);

    // Applied with `patch -p1`, the diff gives what `moodlec fmt` writes.
    let dir = harness::scratch("fmt-check-patch");
    std::fs::copy(golden.join("input.moodle"), dir.join("input.moodle")).expect("copy input");
    let patched = std::process::Command::new("patch")
        .args(["-p1", "--quiet", "--input"])
        .arg(&expected_path)
        .current_dir(&dir)
        .status();
    let formatted = Moodlec::new(["fmt", "-"])
        .stdin(std::fs::read(golden.join("input.moodle")).expect("read input"))
        .output();
    assert_eq!(formatted.code, Some(0), "{}", formatted.all());
    match patched {
        Ok(status) => {
            assert!(status.success(), "patch -p1 refused expected.diff");
            let result = std::fs::read_to_string(dir.join("input.moodle")).expect("read patched");
            assert_eq!(result, formatted.stdout);
        }
        // No `patch` on this machine: the diff's shape was checked above.
        Err(e) => eprintln!("patch not run: {e}"),
    }
    // Once formatted, the file passes, and nothing is printed.
    std::fs::write(dir.join("input.moodle"), &formatted.stdout).expect("write formatted");
    let clean = Moodlec::new(["fmt", "--check", "input.moodle"])
        .current_dir(&dir)
        .output();
    assert_eq!(
        (clean.code, clean.stdout.as_str(), clean.stderr.as_str()),
        (Some(0), "", "")
    );
}

#[test]
fn check_diffs_standard_input_and_each_of_several_files() {
    let golden = harness::repo_root().join("tests/golden/fmt");
    let input = std::fs::read_to_string(golden.join("input.moodle")).expect("read input");
    let out = Moodlec::new(["fmt", "--check", "-"]).stdin(&input).output();
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert!(
        out.stdout.starts_with("--- a/<stdin>\n+++ b/<stdin>\n@@ "),
        "{}",
        out.stdout
    );
    assert_eq!(out.stderr, "would reformat <stdin>\n");

    let dir = harness::scratch("fmt-check-several");
    std::fs::write(dir.join("one.moodle"), &input).expect("write one");
    std::fs::write(dir.join("two.moodle"), &input).expect("write two");
    let formatted = Moodlec::new(["fmt", "-"]).stdin(&input).output().stdout;
    std::fs::write(dir.join("clean.moodle"), formatted).expect("write clean");
    let out = Moodlec::new(["fmt", "--check", "one.moodle", "clean.moodle", "two.moodle"])
        .current_dir(&dir)
        .output();
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert_eq!(
        out.stderr,
        "would reformat one.moodle\nwould reformat two.moodle\n"
    );
    assert!(out.stdout.contains("--- a/one.moodle\n"), "{}", out.stdout);
    assert!(out.stdout.contains("--- a/two.moodle\n"), "{}", out.stdout);
    assert!(!out.stdout.contains("clean.moodle"), "{}", out.stdout);
    // --check changed nothing.
    assert_eq!(
        std::fs::read_to_string(dir.join("one.moodle")).expect("read one"),
        input
    );
}
