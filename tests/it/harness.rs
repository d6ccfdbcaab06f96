//! What the test modules share: the `moodlec` command builder and its
//! [`Output`], scratch folders, and the BLESS switch for golden files.

use std::ffi::OsStr;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The repository root (CARGO_MANIFEST_DIR).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// True when golden files are to be rewritten instead of compared: only
/// when BLESS is exactly `1` (any other value, or none, compares).
pub fn bless() -> bool {
    std::env::var_os("BLESS").is_some_and(|value| value == "1")
}

/// A fresh, empty folder under CARGO_TARGET_TMPDIR. `name` must be unique in
/// the whole binary (the modules prefix theirs, e.g. `run-bisection`):
/// whatever an earlier run left there is removed.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("scratch folder {}: {e}", dir.display()));
    dir
}

/// An empty folder that no test writes to, the working directory of every
/// invocation that does not choose its own: no ./templates/ is found there.
fn empty_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("empty");
        let empty = std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_none());
        if empty {
            dir
        } else {
            scratch("empty")
        }
    })
}

/// XDG_CONFIG_HOME for one invocation: a folder of its own that does not
/// exist yet, so no saved token is found unless the test put one there.
fn fresh_config_home() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("config-{}-{n}", std::process::id()))
}

/// One invocation of the built `moodlec` binary, insulated from the caller's
/// environment: NO_COLOR=1; MOODLE_URL, MOODLE_TOKEN, MOODLE_PASSWORD and
/// GITHUB_STEP_SUMMARY unset; XDG_CONFIG_HOME in a scratch folder; stdin empty; run in an empty
/// folder. Each of those can be changed before running it.
pub struct Moodlec {
    command: Command,
    stdin: Option<Vec<u8>>,
}

impl Moodlec {
    /// `moodlec ARGS`.
    pub fn new<I, S>(args: I) -> Moodlec
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(env!("CARGO_BIN_EXE_moodlec"));
        command
            .args(args)
            .current_dir(empty_dir())
            .env("NO_COLOR", "1")
            .env_remove("MOODLE_URL")
            .env_remove("MOODLE_TOKEN")
            .env_remove("MOODLE_PASSWORD")
            // In GitHub Actions every check and validate would append to the job's summary.
            .env_remove("GITHUB_STEP_SUMMARY")
            .env("XDG_CONFIG_HOME", fresh_config_home());
        Moodlec { command, stdin: None }
    }

    /// More arguments.
    pub fn args<I, S>(mut self, args: I) -> Moodlec
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Run in `dir` (relative paths and ./templates/ are looked up there).
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Moodlec {
        self.command.current_dir(dir);
        self
    }

    /// MOODLE_TOKEN.
    pub fn token(self, token: &str) -> Moodlec {
        self.env("MOODLE_TOKEN", token)
    }

    /// XDG_CONFIG_HOME (where `moodlec login` saves the token).
    pub fn config_home(self, dir: impl AsRef<Path>) -> Moodlec {
        self.env("XDG_CONFIG_HOME", dir.as_ref())
    }

    /// One more environment variable (or a new value for one set above).
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Moodlec {
        self.command.env(key, value);
        self
    }

    /// Unsets an environment variable.
    pub fn env_remove(mut self, key: &str) -> Moodlec {
        self.command.env_remove(key);
        self
    }

    /// Standard input (empty otherwise).
    pub fn stdin(mut self, text: impl AsRef<[u8]>) -> Moodlec {
        self.stdin = Some(text.as_ref().to_vec());
        self
    }

    /// Runs it to the end. The stdin text, if any, is written from another
    /// thread, so a large input cannot block on a full stdout pipe; moodlec
    /// may stop reading it early.
    pub fn output(mut self) -> Output {
        let stdin = self.stdin.take();
        self.command.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = self
            .command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moodlec");
        let writer = child.stdin.take().zip(stdin).map(|(mut pipe, text)| {
            std::thread::spawn(move || match pipe.write_all(&text) {
                Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
                written => written,
            })
        });
        let output = child.wait_with_output().expect("wait for moodlec");
        if let Some(writer) = writer {
            let written = writer.join().expect("the stdin writer");
            written.unwrap_or_else(|e| panic!("write moodlec's stdin: {e}"));
        }
        Output::from(output)
    }

    /// Starts it with stdout and stderr piped, stdin empty.
    pub fn spawn(self) -> Child {
        self.spawn_with(Stdio::piped(), Stdio::piped())
    }

    /// Starts it with stdout and stderr as given (e.g. `Stdio::null()`),
    /// stdin empty.
    pub fn spawn_with(mut self, stdout: Stdio, stderr: Stdio) -> Child {
        assert!(
            self.stdin.is_none(),
            "Moodlec::stdin is for output(); a spawned moodlec gets an empty stdin"
        );
        self.command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("start moodlec")
    }

    /// The `std::process::Command` itself, stdin empty, for what `output` and
    /// `spawn` do not cover (e.g. a stdin pipe the test writes to itself);
    /// stdout and stderr are not set yet.
    pub fn into_command(mut self) -> Command {
        assert!(
            self.stdin.is_none(),
            "Moodlec::stdin is for output(); set the command's own stdin instead"
        );
        self.command.stdin(Stdio::null());
        self.command
    }
}

/// What an invocation produced.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    /// None when a signal ended it.
    pub code: Option<i32>,
}

/// What a spawned moodlec left (`Child::wait_with_output`), stdout and
/// stderr read as text.
impl From<std::process::Output> for Output {
    fn from(output: std::process::Output) -> Output {
        Output {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            code: output.status.code(),
        }
    }
}

impl Output {
    /// stdout then stderr.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Output {
        assert_eq!(self.code, Some(expected), "exit code\n{self:#?}");
        self
    }

    /// Asserts that stdout contains `text`.
    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Output {
        assert!(self.stdout.contains(text), "stdout lacks {text:?}\n{self:#?}");
        self
    }

    /// Asserts that stderr contains `text`.
    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Output {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}\n{self:#?}");
        self
    }
}

/// The one JSON document a `--format json` command (or a JSON error) writes
/// on stdout, parsed whole: `{"version":1,...,"diagnostics":[...],"summary":{...}}`.
/// Panics, showing the output, when stdout is not exactly one JSON value or
/// lacks the document's keys.
#[track_caller]
pub fn report(out: &Output) -> serde_json::Value {
    let document: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{out:#?}"));
    assert_eq!(document["version"], 1, "no version 1: {out:#?}");
    assert_eq!(document["tool"], "moodlec", "{out:#?}");
    assert!(
        document["diagnostics"].is_array(),
        "no diagnostics array: {out:#?}"
    );
    assert!(document["summary"].is_object(), "no summary object: {out:#?}");
    document
}

/// The diagnostics of the JSON document on stdout (see [`report`]).
#[track_caller]
pub fn diagnostics(out: &Output) -> Vec<serde_json::Value> {
    match report(out)["diagnostics"].take() {
        serde_json::Value::Array(diagnostics) => diagnostics,
        _ => unreachable!("report checks the array"),
    }
}

/// The summary of the JSON document on stdout (see [`report`]).
#[track_caller]
pub fn summary(out: &Output) -> serde_json::Value {
    report(out)["summary"].take()
}
