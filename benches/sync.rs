//! `moodlec sync` against re-sending everything with `moodlec run`: the
//! release binary against the Moodle simulator with 20 ms of latency per
//! request, modelled on the Moodle 4.5 site measured by hand (2 cores, 4 PHP
//! workers, about 49 users/s written with one batch in flight: 4 workers and
//! 19 ms of work per record written, as benches/concurrency.rs), a site of
//! 10,000 staff accounts and a roster of the same people
//! where 1% have one changed field (alternately the last name and the
//! department).
//!
//! - sync: `moodlec sync -t staff_users roster.csv --yes --quiet`, the whole
//!   process timed; before it a `moodlec plan` (read + diff only, timed, to
//!   show where the time goes), after it a second `moodlec plan
//!   --detailed-exitcode` that must exit 0;
//! - run: on a fresh, identically seeded site, `moodlec run -t update_users`
//!   with every user's Moodle id and roster fields, the way a naive daily
//!   job re-sends everything: with the defaults (batches of 100,
//!   `--concurrency auto`), and with `--concurrency 1` when SYNC_RUN_C1=1
//!   (minutes at this size).
//!
//! SYNC_SITE=unlimited drops the worker model (no limit on PHP workers, no
//! per-record work): then only latency and moodlec's own work count.
//!
//! Each round checks that both end with the same users, that the sync
//! changed only the changed users and sent write calls only for them; any
//! failure panics. `cargo bench --bench sync` (SYNC_USERS sets the size,
//! default 10,000; SYNC_ROUNDS the rounds, default 3; SYNC_LATENCY_MS the
//! latency, default 20). The machine may be busy: compare the ratios within
//! a round.

#[path = "../tests/it/simulator/mod.rs"]
mod simulator;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use simulator::{Call, Faults, Simulator, SiteConfig, User, TOKEN};

/// Ids of the seeded staff start here (guest is 1, admin 2).
const FIRST_ID: i64 = 3;
/// Form pairs every server.php call carries besides its parameters
/// (wstoken, wsfunction, moodlewsrestformat).
const CALL_OVERHEAD_PAIRS: usize = 3;
/// Form pairs one changed user may take in an update: its id, the changed
/// field, and some slack. A sync that also sent the unchanged users would
/// need at least one pair (the id) for each of them.
const PAIRS_PER_CHANGED_USER: usize = 4;

/// A users-only sync template, as in tests/it/sync.rs.
const TEMPLATE: &str = r#"
template staff_users extends create_users "Staff accounts" {
  map username = "{{ username }}"
  map firstname = "{{ first_name }}"
  map lastname = "{{ last_name }}"
  map email = "{{ email }}"
  map department = "{{ department }}"
  map password = "{{ password }}"
  sync users by username
  scope email like "%@staff.example.edu"
  missing suspend
}
"#;

fn main() {
    let users = env_number("SYNC_USERS", 10_000);
    let rounds = env_number("SYNC_ROUNDS", 3);
    let latency = Duration::from_millis(env_number("SYNC_LATENCY_MS", 20) as u64);
    assert!(users >= 1, "SYNC_USERS must be at least 1");
    assert!(rounds >= 1, "SYNC_ROUNDS must be at least 1");
    // Cargo builds the binary before the bench and says where.
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_moodlec"));
    let dir = std::env::temp_dir().join(format!("moodlec-bench-sync-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("templates")).expect("temp dir");
    std::fs::write(dir.join("templates/staff.moodle"), TEMPLATE).expect("template file");

    let people: Vec<Person> = (1..=users).map(Person::new).collect();
    let changed: Vec<&Person> = people.iter().filter(|p| p.changed()).collect();
    let seed: Vec<User> = people.iter().map(Person::seeded).collect();
    std::fs::write(dir.join("roster.csv"), roster(&people)).expect("roster");
    std::fs::write(dir.join("update.ndjson"), update_records(&people)).expect("update records");

    println!(
        "moodlec sync vs run -t update_users: {users} users, {} changed, simulator latency {} ms per request",
        changed.len(),
        latency.as_millis()
    );
    println!(
        "{:<7}{:<38}{:>9}{:>8}{:>8}{:>10}",
        "round", "command", "seconds", "reads", "writes", "sent"
    );
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let r = Round {
            binary: &binary,
            dir: &dir,
            round,
        };

        // The sync, between two plans.
        let sim = site(&seed, latency);
        let before = sim.state().users;
        let (read_seconds, read_bytes) = raw_scope_read(&sim);
        let mark = sim.calls().len();
        let plan_before = r.timed(&sim, &["plan", "-t", "staff_users", "roster.csv"]);
        plan_before.expect_code(0);
        let plan_before_calls = Counts::of(&sim.calls()[mark..]);
        assert_eq!(plan_before_calls.writes, 0, "the plan before the sync wrote");
        let mark = sim.calls().len();
        let results = format!("sync-{round}.ndjson");
        let sync = r.timed(
            &sim,
            &[
                "sync",
                "-t",
                "staff_users",
                "roster.csv",
                "--yes",
                "--quiet",
                "--results",
                &results,
            ],
        );
        sync.expect_code(0);
        let sync_calls = Counts::of(&sim.calls()[mark..]);
        let mark = sim.calls().len();
        let plan_after = r.timed(
            &sim,
            &["plan", "-t", "staff_users", "roster.csv", "--detailed-exitcode"],
        );
        plan_after.expect_code(0);
        let plan_after_calls = Counts::of(&sim.calls()[mark..]);
        assert_eq!(plan_after_calls.writes, 0, "the plan after the sync wrote");
        let synced = sim.state().users;
        check_only_changed(&before, &synced, &changed);
        let budget = sync_calls.writes * CALL_OVERHEAD_PAIRS + changed.len() * PAIRS_PER_CHANGED_USER;
        assert!(
            sync_calls.write_pairs <= budget,
            "the sync sent {} form pairs in {} write calls ({:?}): more than {budget} for {} changed users, \
             so it wrote unchanged users too",
            sync_calls.write_pairs,
            sync_calls.writes,
            sync_calls.write_functions,
            changed.len()
        );
        drop(sim);

        // Re-sending everyone: with the defaults (batches of 100,
        // --concurrency auto), then one call in flight.
        let (run, run_calls) = r.run_all(&seed, latency, &synced, &[]);
        let run1 = (std::env::var("SYNC_RUN_C1").as_deref() == Ok("1"))
            .then(|| r.run_all(&seed, latency, &synced, &["--concurrency", "1"]));

        let sync_records = changed.len();
        let counts = Counts {
            reads: 1,
            ..Counts::default()
        };
        r.row("(simulator: the scope read alone)", read_seconds, &counts, 0);
        r.row(
            "plan (read + diff, before)",
            plan_before.seconds,
            &plan_before_calls,
            0,
        );
        r.row(
            "sync --yes (read + diff + apply)",
            sync.seconds,
            &sync_calls,
            sync_records,
        );
        r.row(
            "plan --detailed-exitcode (after)",
            plan_after.seconds,
            &plan_after_calls,
            0,
        );
        r.row("run -t update_users (defaults)", run.seconds, &run_calls, users);
        if let Some((run1, run1_calls)) = &run1 {
            r.row(
                "run -t update_users --concurrency 1",
                run1.seconds,
                run1_calls,
                users,
            );
        }
        let ratio = run.seconds / sync.seconds;
        println!(
            "{:<7}ratio run/sync {ratio:.1}x (target >= 10x: {}){}",
            round,
            if ratio >= 10.0 { "met" } else { "NOT met" },
            run1.as_ref()
                .map(|(run1, _)| format!("; with --concurrency 1: {:.1}x", run1.seconds / sync.seconds))
                .unwrap_or_default()
        );
        println!("{:<7}sync calls {:?}", round, sync_calls.functions);
        println!(
            "{:<7}the scope read (core_user_get_users) answers {:.1} MB",
            round,
            read_bytes as f64 / 1e6
        );
        ratios.push(ratio);
    }
    let list: Vec<String> = ratios.iter().map(|r| format!("{r:.1}x")).collect();
    println!("ratios run/sync by round: {}", list.join(", "));
    let _ = std::fs::remove_dir_all(&dir);
}

fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}")),
        Err(_) => default,
    }
}

/// One roster person and their seeded account.
struct Person {
    i: usize,
}

impl Person {
    fn new(i: usize) -> Self {
        Person { i }
    }

    fn id(&self) -> i64 {
        FIRST_ID + self.i as i64 - 1
    }

    fn username(&self) -> String {
        format!("staff{:06}", self.i)
    }

    fn email(&self) -> String {
        format!("{}@staff.example.edu", self.username())
    }

    /// 1 in 100 (every 100th person).
    fn changed(&self) -> bool {
        self.i % 100 == 0
    }

    fn seeded_lastname(&self) -> String {
        format!("Person {}", self.i)
    }

    fn seeded_department(&self) -> String {
        format!("Department {}", self.i % 20)
    }

    /// The roster's last name: changed for every other changed person.
    fn lastname(&self) -> String {
        if self.changed() && self.i % 200 == 0 {
            format!("Person {} (married)", self.i)
        } else {
            self.seeded_lastname()
        }
    }

    /// The roster's department: changed for the other changed people.
    fn department(&self) -> String {
        if self.changed() && self.i % 200 != 0 {
            format!("Department {} (moved)", self.i % 20)
        } else {
            self.seeded_department()
        }
    }

    fn seeded(&self) -> User {
        User::new(self.id(), &self.username(), &self.email())
            .with_name("Staff", &self.seeded_lastname())
            .with_field("department", &self.seeded_department())
    }
}

fn roster(people: &[Person]) -> String {
    let mut csv = String::from("username,first_name,last_name,email,department,password\n");
    for p in people {
        csv.push_str(&format!(
            "{},Staff,{},{},{},Staff-{}-1!\n",
            p.username(),
            p.lastname(),
            p.email(),
            p.department(),
            p.i
        ));
    }
    csv
}

/// update_users records: each user's Moodle id and roster fields.
fn update_records(people: &[Person]) -> String {
    let mut text = String::new();
    for p in people {
        let line = serde_json::json!({
            "id": p.id(),
            "username": p.username(),
            "firstname": "Staff",
            "lastname": p.lastname(),
            "email": p.email(),
            "department": p.department(),
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    text
}

/// PHP workers of the measured site.
const WORKERS: usize = 4;
/// Work per record written on the measured site (about 49 users/s at one batch in flight).
const COST_PER_RECORD: Duration = Duration::from_millis(19);

fn site(seed: &[User], latency: Duration) -> Simulator {
    let unlimited = std::env::var("SYNC_SITE").as_deref() == Ok("unlimited");
    let mut config = SiteConfig {
        faults: Faults {
            latency,
            ..Faults::default()
        },
        workers: (!unlimited).then_some(WORKERS),
        cost_per_record: if unlimited {
            Duration::ZERO
        } else {
            COST_PER_RECORD
        },
        ..SiteConfig::default()
    };
    config.users.extend(seed.iter().cloned());
    Simulator::start(config)
}

/// The sync's scope read sent straight to the simulator (one HTTP/1.1
/// request, no moodlec): its seconds, latency included, and the answer's
/// size. The part of a sync's read that is the site's, not moodlec's.
fn raw_scope_read(sim: &Simulator) -> (f64, usize) {
    use std::io::{Read, Write};
    let body = format!(
        "wstoken={TOKEN}&wsfunction=core_user_get_users&moodlewsrestformat=json\
         &criteria%5B0%5D%5Bkey%5D=email&criteria%5B0%5D%5Bvalue%5D=%25%40staff.example.edu"
    );
    let host = sim.url().trim_start_matches("http://");
    let start = Instant::now();
    let mut stream = std::net::TcpStream::connect(host).expect("connect to the simulator");
    write!(
        stream,
        "POST /webservice/rest/server.php HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send the read");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read the answer");
    let seconds = start.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 200") && text.contains("\"users\""),
        "the scope read failed: {}",
        &text[..text.len().min(500)]
    );
    (seconds, answer.len())
}

/// Exactly the changed people differ after the sync, each as the roster says.
fn check_only_changed(before: &BTreeMap<i64, User>, after: &BTreeMap<i64, User>, changed: &[&Person]) {
    assert_eq!(before.len(), after.len(), "the sync created or removed users");
    let differing: Vec<i64> = before
        .iter()
        .filter(|(id, user)| after.get(id) != Some(user))
        .map(|(id, _)| *id)
        .collect();
    let expected: Vec<i64> = changed.iter().map(|p| p.id()).collect();
    assert_eq!(differing, expected, "the users the sync changed");
    for p in changed {
        let user = &after[&p.id()];
        assert_eq!(user.lastname, p.lastname(), "{}'s last name", p.username());
        assert_eq!(
            user.field("department"),
            p.department(),
            "{}'s department",
            p.username()
        );
        assert!(!user.suspended, "{} suspended", p.username());
    }
}

/// Calls by kind: reads (`*_get_*`, site info) and writes.
#[derive(Debug, Default)]
struct Counts {
    reads: usize,
    writes: usize,
    /// Form pairs sent in the write calls.
    write_pairs: usize,
    write_functions: BTreeMap<String, usize>,
    /// Every call, by function.
    functions: BTreeMap<String, usize>,
}

impl Counts {
    fn of(calls: &[Call]) -> Counts {
        let mut counts = Counts::default();
        for call in calls {
            let f = call.function.as_deref().unwrap_or("");
            *counts.functions.entry(f.to_owned()).or_default() += 1;
            if f.contains("_get_") {
                counts.reads += 1;
            } else {
                counts.writes += 1;
                counts.write_pairs += call.pairs;
                *counts.write_functions.entry(f.to_owned()).or_default() += 1;
            }
        }
        counts
    }
}

struct Round<'a> {
    binary: &'a Path,
    dir: &'a Path,
    round: usize,
}

impl Round<'_> {
    /// `moodlec run -t update_users` of every user on a fresh site: it must
    /// end with the users the sync ended with.
    fn run_all(
        &self,
        seed: &[User],
        latency: Duration,
        synced: &BTreeMap<i64, User>,
        extra: &[&str],
    ) -> (Timed, Counts) {
        let sim = site(seed, latency);
        let results = format!("run-{}-{}.ndjson", self.round, extra.join(""));
        let mut args = vec![
            "run",
            "-t",
            "update_users",
            "update.ndjson",
            "--quiet",
            "--results",
            &results,
        ];
        args.extend_from_slice(extra);
        let run = self.timed(&sim, &args);
        run.expect_code(0);
        let calls = Counts::of(&sim.calls());
        assert_eq!(
            &sim.state().users,
            synced,
            "run -t update_users {extra:?} and sync ended with different users"
        );
        (run, calls)
    }
}

struct Timed {
    seconds: f64,
    args: Vec<String>,
    out: Output,
}

impl Timed {
    fn expect_code(&self, code: i32) {
        assert_eq!(
            self.out.status.code(),
            Some(code),
            "moodlec {:?}\nstdout: {}\nstderr: {}",
            self.args,
            tail(&self.out.stdout),
            tail(&self.out.stderr)
        );
    }
}

/// The last 4,000 bytes of an output (a plan of 10,000 users is long).
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let start = text.len().saturating_sub(4_000);
    let start = (start..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text[start..].to_owned()
}

impl Round<'_> {
    /// Runs moodlec against `sim` and times the whole process.
    fn timed(&self, sim: &Simulator, args: &[&str]) -> Timed {
        let start = Instant::now();
        let out = Command::new(self.binary)
            .args(args)
            .args(["--url", sim.url(), "--allow-http"])
            .current_dir(self.dir)
            .env("NO_COLOR", "1")
            .env("MOODLE_TOKEN", TOKEN)
            .env_remove("MOODLE_URL")
            .env_remove("MOODLE_PASSWORD")
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .stdin(Stdio::null())
            .output()
            .expect("run moodlec");
        Timed {
            seconds: start.elapsed().as_secs_f64(),
            args: args.iter().map(|a| a.to_string()).collect(),
            out,
        }
    }

    /// One line of the table: `sent` is the records the writes carried.
    fn row(&self, command: &str, seconds: f64, calls: &Counts, sent: usize) {
        println!(
            "{:<7}{:<38}{:>9.2}{:>8}{:>8}{:>10}",
            self.round, command, seconds, calls.reads, calls.writes, sent
        );
    }
}
