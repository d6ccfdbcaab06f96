//! The safety rails: a truncated or empty export must never deprovision a school.
//!
//! - A roster with no records removes nothing (the planner plans no removals).
//! - A roster with problems removes nothing (a bad line may be a person who stays).
//! - Removals (suspend, unenrol, delete) above the threshold, more than 10%
//!   of the records in scope or more than 50, need `--allow-removals N`
//!   with N at least the number planned.
//! - `delete` needs `missing delete` in the template and `--allow-delete`.

use super::model::{Action, RailStop, Rails, Step};

/// Removals allowed without asking, as a share of the scope.
pub const SHARE_PERCENT: u64 = 10;
/// Removals allowed without asking, at most.
pub const MAX_REMOVALS: u64 = 50;

/// What the command line allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allowance {
    /// `--allow-removals N`.
    pub removals: Option<u64>,
    /// `--allow-delete`.
    pub delete: bool,
}

/// The rails' verdict on `steps` with `allowance`.
pub fn check(steps: &[Step], allowance: Allowance) -> Rails {
    let removals: u64 = steps
        .iter()
        .flat_map(|s| &s.changes)
        .filter(|c| c.action.removes())
        .count() as u64;
    let in_scope: u64 = steps
        .iter()
        .filter(|s| s.changes.iter().any(|c| c.action.removes()))
        .map(|s| s.in_scope)
        .sum();
    let threshold = (in_scope * SHARE_PERCENT / 100).min(MAX_REMOVALS);
    let deletes = steps
        .iter()
        .flat_map(|s| &s.changes)
        .filter(|c| c.action == Action::Delete)
        .count();
    let stopped = if deletes > 0 && !allowance.delete {
        Some(RailStop {
            rail: "delete_not_allowed".to_owned(),
            message: format!("the plan deletes {deletes} record(s), and deleting was not allowed on the command line"),
            help: "review the deletions, then run again with --allow-delete (the template's `missing delete` alone is not enough)".to_owned(),
        })
    } else if removals > threshold && allowance.removals.is_none_or(|n| removals > n) {
        let share = (removals * 100).checked_div(in_scope).unwrap_or(100);
        Some(RailStop {
            rail: "mass_removal".to_owned(),
            message: format!(
                "the plan removes {removals} of {in_scope} record(s) in scope ({share}%); without --allow-removals at most {threshold} may go ({SHARE_PERCENT}% of the scope, never more than {MAX_REMOVALS})"
            ),
            help: format!(
                "check that the roster is complete (a truncated export looks like mass leavers); if these removals are intended, run again with --allow-removals {removals}"
            ),
        })
    } else {
        None
    };
    Rails {
        removals,
        in_scope,
        threshold,
        allowed: allowance.removals,
        stopped,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::sync::model::{Change, Fields};
    use crate::template::{Missing, SyncObject};

    fn step(in_scope: u64, removals: usize, action: Action) -> Step {
        Step {
            template: "t".to_owned(),
            object: SyncObject::Users,
            key: vec!["username".to_owned()],
            missing: Missing::Suspend,
            scope: Vec::new(),
            in_scope,
            unchanged: 0,
            create_only: Vec::new(),
            changes: (0..removals)
                .map(|i| Change {
                    id: i as u64 + 1,
                    action,
                    key: BTreeMap::new(),
                    record: None,
                    before: None,
                    diff: Vec::new(),
                    send: Fields::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn ten_percent_of_the_scope_passes_one_more_stops() {
        assert_eq!(
            check(&[step(100, 10, Action::Suspend)], Allowance::default()).stopped,
            None
        );
        let rails = check(&[step(100, 11, Action::Suspend)], Allowance::default());
        assert_eq!(rails.stopped.map(|s| s.rail), Some("mass_removal".to_owned()));
    }

    #[test]
    fn never_more_than_fifty_without_asking() {
        let rails = check(&[step(10_000, 51, Action::Unenrol)], Allowance::default());
        assert_eq!(rails.threshold, MAX_REMOVALS);
        assert!(rails.stopped.is_some());
        let allowed = Allowance {
            removals: Some(51),
            delete: false,
        };
        assert_eq!(check(&[step(10_000, 51, Action::Unenrol)], allowed).stopped, None);
        let too_few = Allowance {
            removals: Some(50),
            delete: false,
        };
        assert!(check(&[step(10_000, 51, Action::Unenrol)], too_few)
            .stopped
            .is_some());
    }

    #[test]
    fn delete_needs_its_own_flag() {
        let allowed = Allowance {
            removals: Some(1),
            delete: false,
        };
        let rails = check(&[step(5, 1, Action::Delete)], allowed);
        assert_eq!(
            rails.stopped.map(|s| s.rail),
            Some("delete_not_allowed".to_owned())
        );
        let both = Allowance {
            removals: Some(1),
            delete: true,
        };
        assert_eq!(check(&[step(5, 1, Action::Delete)], both).stopped, None);
    }

    #[test]
    fn additions_never_stop() {
        assert_eq!(
            check(&[step(0, 500, Action::Create)], Allowance::default()).stopped,
            None
        );
    }
}
