use super::*;
use crate::template::LookupKind;

fn key(kind: LookupKind, field: &str, value: &str) -> Key {
    Key {
        kind,
        field: field.to_owned(),
        value: value.to_owned(),
    }
}

#[test]
fn problems_name_the_key_and_the_ids() {
    let k = key(LookupKind::User, "email", "a@b.org");
    assert_eq!(Resolution::Found(3).problem(&k), None);
    assert_eq!(
        Resolution::Missing.problem(&k).as_deref(),
        Some("no Moodle user with email a@b.org")
    );
    assert_eq!(
        Resolution::Ambiguous(vec![5, 9]).problem(&k).as_deref(),
        Some("2 Moodle users have email a@b.org (ids 5, 9)")
    );
    let c = key(LookupKind::Course, "shortname", "X");
    assert_eq!(
        Resolution::Missing.problem(&c).as_deref(),
        Some("no Moodle course with shortname X")
    );
}

#[test]
fn values_moodle_would_refuse_are_found_before_sending() {
    assert!(clean::rejection(&key(LookupKind::User, "username", "JDoe"))
        .is_some_and(|why| why.contains("lowercase")));
    assert_eq!(clean::rejection(&key(LookupKind::User, "username", "jdoe")), None);
    assert!(clean::rejection(&key(LookupKind::User, "email", " a@b.org")).is_some());
    assert_eq!(clean::rejection(&key(LookupKind::User, "email", "a@b.org")), None);
    assert!(clean::rejection(&key(LookupKind::Course, "shortname", "<b>X</b>")).is_some());
    assert!(clean::rejection(&key(LookupKind::Course, "id", "007")).is_some());
    assert_eq!(
        clean::rejection(&key(LookupKind::Course, "idnumber", " X ")),
        None
    );
}
