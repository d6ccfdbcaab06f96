//! What the benches that run `moodlec run` against the simulator share: the
//! users they create, and the check that they arrived.

use crate::simulator::Simulator;

pub fn username(prefix: &str, i: usize) -> String {
    format!("bench{prefix}{i:06}")
}

/// NDJSON users 1..=n with unique usernames, emails and passwords that pass
/// the default password policy.
pub fn users(prefix: &str, n: usize) -> String {
    let mut text = String::with_capacity(n * 160);
    for i in 1..=n {
        let name = username(prefix, i);
        let line = serde_json::json!({
            "username": name,
            "firstname": "Bench",
            "lastname": format!("User {i}"),
            "email": format!("{name}@example.org"),
            "password": format!("Bench-{prefix}{i}-Pw"),
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    text
}

/// Asserts the simulator holds `records` more users than `before`, the first
/// and last of `prefix` among them.
pub fn assert_created(sim: &Simulator, prefix: &str, before: usize, records: usize, what: &str) {
    let state = sim.state();
    assert_eq!(state.users.len() - before, records, "users created {what}");
    for i in [1, records] {
        let username = username(prefix, i);
        assert!(state.user_by_username(&username).is_some(), "{username} missing");
    }
}
