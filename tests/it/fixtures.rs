//! Data and peers that several modules share: generated users, the results
//! file by record, and small HTTP servers (webhook receivers, sites that
//! answer one fixed way).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// NDJSON users `{prefix}{i:03}` for i in 1..=n, valid for create_users.
pub fn users(prefix: &str, n: usize) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "{}\n",
                json!({
                    "username": format!("{prefix}{i:03}"),
                    "firstname": "Test",
                    "lastname": format!("User {i}"),
                    "email": format!("{prefix}{i:03}@example.org"),
                    "password": "Passw0rd!",
                })
            )
        })
        .collect()
}

/// The results file, by record number (every record must have exactly one line).
pub fn results(path: &Path) -> BTreeMap<u64, Value> {
    let text = std::fs::read_to_string(path).expect("results file");
    let mut by_record = BTreeMap::new();
    for line in text.lines() {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad result line {line:?}: {e}"));
        let record = value["record"].as_u64().expect("record number");
        assert!(
            by_record.insert(record, value).is_none(),
            "record {record} has two result lines"
        );
    }
    by_record
}

/// The body of the next HTTP request on `reader`; `None` when the peer is gone.
pub fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

/// A webhook receiver that keeps every request body and answers `status`
/// (e.g. "200 OK"), on kept-alive connections.
pub fn webhook_receiver(status: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let kept = kept.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                while let Some(body) = read_request(&mut reader) {
                    kept.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&body).into_owned());
                    let mut stream = &stream;
                    let _ = write!(stream, "HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
                }
            });
        }
    });
    (url, bodies)
}

/// An HTTP server that answers each request, one per connection, with
/// status 200 and what `answer` makes of its body: (content type, body).
pub fn answering_server(answer: impl Fn(&[u8]) -> (&'static str, String) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let request = read_request(&mut reader).unwrap_or_default();
            let (content_type, body) = answer(&request);
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// Every record applied once, with the id Moodle gave its username.
pub fn assert_all_applied(
    sim: &crate::simulator::Simulator,
    results: &BTreeMap<u64, Value>,
    prefix: &str,
    n: usize,
) {
    let state = sim.state();
    assert_eq!(results.len(), n, "one result per record");
    for i in 1..=n {
        let result = &results[&(i as u64)];
        assert_eq!(result["status"], "applied", "record {i}: {result}");
        let user = state
            .user_by_username(&format!("{prefix}{i:03}"))
            .unwrap_or_else(|| panic!("user {i} is in Moodle"));
        assert_eq!(result["id"], user.id, "record {i} carries its Moodle id");
    }
    let created = state
        .users
        .values()
        .filter(|u| u.username.starts_with(prefix))
        .count();
    assert_eq!(created, n, "no user created twice or left out");
}
