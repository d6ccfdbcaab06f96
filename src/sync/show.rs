//! Views of a plan: the terminal (counts first, then each change; colour
//! when the caller says so) and Markdown (to paste into a change request).
//! The JSON view is the plan itself (`serde`).

use std::fmt::Write as _;

use super::desired::describe;
use super::model::{json_text, Action, Change, Counts, Plan, Step};

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// The sign shown before a change: `+` adds, `~` changes, `-` removes.
pub fn sign(action: Action) -> char {
    match action {
        Action::Create | Action::Enrol | Action::Reactivate | Action::Assign => '+',
        Action::Update => '~',
        Action::Unassign | Action::Suspend | Action::Unenrol | Action::Delete => '-',
    }
}

fn colour_of(action: Action) -> &'static str {
    match sign(action) {
        '+' => GREEN,
        '~' => YELLOW,
        _ => RED,
    }
}

/// `+ 12 to create, ~ 3 to update, - 1 to suspend, = 4,980 unchanged`.
pub fn counts_line(counts: &Counts) -> String {
    let mut parts: Vec<String> = Action::ALL
        .iter()
        .filter_map(|action| {
            let n = *counts.changes.get(action)?;
            Some(format!("{} {} to {}", sign(*action), thousands(n), action.name()))
        })
        .collect();
    parts.push(format!("= {} unchanged", thousands(counts.unchanged)));
    parts.join(", ")
}

/// `4980` as `4,980`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The terminal view.
pub fn human(plan: &Plan, colour: bool) -> String {
    let paint = |code: &str, text: &str| {
        if colour {
            format!("{code}{text}{RESET}")
        } else {
            text.to_owned()
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint(
            BOLD,
            &format!(
                "Plan: {} on {} from {} ({} records)",
                plan.sync,
                plan.site,
                plan.source.path,
                thousands(plan.source.records)
            )
        )
    );
    let _ = writeln!(out, "  {}", counts_line(&plan.counts));
    for step in &plan.steps {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", paint(BOLD, &step_title(step)));
        if step.changes.is_empty() {
            let _ = writeln!(out, "  no changes");
        }
        for change in &step.changes {
            let line = format!(
                "{} {:<13} {}",
                sign(change.action),
                change.action.name(),
                describe(&change.key)
            );
            let _ = writeln!(out, "  {}", paint(colour_of(change.action), &line));
            for detail in details(change) {
                let _ = writeln!(out, "      {detail}");
            }
        }
    }
    for problem in &plan.problems {
        let _ = writeln!(
            out,
            "\n{} record {} (line {}, {}): {} [{}]",
            paint(RED, "problem:"),
            problem.record,
            problem.line,
            problem.step,
            problem.message,
            problem.code
        );
    }
    for note in &plan.notes {
        let _ = writeln!(out, "\nnote: {note}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", rail_line(plan));
    if let Some(stop) = &plan.rails.stopped {
        let _ = writeln!(out, "{} {}", paint(RED, "stopped by a rail:"), stop.message);
        let _ = writeln!(out, "  help: {}", stop.help);
    }
    out
}

fn step_title(step: &Step) -> String {
    format!(
        "{} ({} by {}; {} in scope, missing: {})",
        step.template,
        step.object.name(),
        step.key.join(" + "),
        thousands(step.in_scope),
        step.missing.name()
    )
}

fn rail_line(plan: &Plan) -> String {
    let rails = &plan.rails;
    if rails.removals == 0 {
        return "Removals: none".to_owned();
    }
    format!(
        "Removals: {} of {} in scope (allowed without --allow-removals: {}{})",
        rails.removals,
        rails.in_scope,
        rails.threshold,
        rails
            .allowed
            .map(|n| format!("; --allow-removals {n}"))
            .unwrap_or_default()
    )
}

/// `field: old -> new` lines of an update or role change.
fn details(change: &Change) -> Vec<String> {
    change
        .diff
        .iter()
        .map(|d| format!("{}: {} -> {}", d.field, shown(&d.old), shown(&d.new)))
        .collect()
}

fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(_) | serde_json::Value::Null => format!("{:?}", json_text(value)),
        other => other.to_string(),
    }
}

/// The Markdown view.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## moodlec plan: `{}`\n", plan.sync);
    let _ = writeln!(
        out,
        "Site: {} · roster: `{}` ({} records)\n",
        plan.site,
        plan.source.path,
        thousands(plan.source.records)
    );
    let _ = writeln!(out, "**{}**\n", counts_line(&plan.counts));
    for step in &plan.steps {
        let _ = writeln!(out, "### {}\n", step_title(step));
        if step.changes.is_empty() {
            let _ = writeln!(out, "No changes.\n");
            continue;
        }
        let _ = writeln!(out, "| | action | key | details |\n|---|---|---|---|");
        for change in &step.changes {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                sign(change.action),
                change.action.name(),
                cell(&describe(&change.key)),
                cell(&details(change).join("; "))
            );
        }
        let _ = writeln!(out);
    }
    if !plan.problems.is_empty() {
        let _ = writeln!(out, "### Problems\n");
        for p in &plan.problems {
            let _ = writeln!(
                out,
                "- record {} (line {}, {}): {} `{}`",
                p.record,
                p.line,
                p.step,
                cell(&p.message),
                p.code
            );
        }
        let _ = writeln!(out);
    }
    for note in &plan.notes {
        let _ = writeln!(out, "> {}\n", cell(note));
    }
    let _ = writeln!(out, "{}", rail_line(plan));
    if let Some(stop) = &plan.rails.stopped {
        let _ = writeln!(
            out,
            "\n**Stopped by the `{}` rail:** {}. {}",
            stop.rail, stop.message, stop.help
        );
    }
    out
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(4980), "4,980");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn counts_come_in_action_order_then_unchanged() {
        let mut counts = Counts::default();
        counts.changes.insert(Action::Suspend, 1);
        counts.changes.insert(Action::Create, 12);
        counts.changes.insert(Action::Update, 3);
        counts.unchanged = 4980;
        assert_eq!(
            counts_line(&counts),
            "+ 12 to create, ~ 3 to update, - 1 to suspend, = 4,980 unchanged"
        );
    }

    #[test]
    fn table_cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
