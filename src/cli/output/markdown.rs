//! A Markdown summary for a CI job page (`$GITHUB_STEP_SUMMARY`): the
//! verdict, the counts, and a table of the first problems.

use std::io;

use super::sink::{Destination, Shown, Sink, Summary};

/// Rows of the problem table; the rest are counted.
const ROWS: usize = 50;

pub struct Markdown {
    out: Destination,
    rows: Vec<String>,
    more: u64,
}

impl Markdown {
    pub fn new(out: Destination) -> Markdown {
        Markdown {
            out,
            rows: Vec::new(),
            more: 0,
        }
    }
}

/// Text safe in a table cell: no pipe, no line break, no HTML.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Sink for Markdown {
    fn diagnostic(&mut self, shown: &Shown<'_>) -> io::Result<()> {
        if self.rows.len() >= ROWS {
            self.more += 1;
            return Ok(());
        }
        let d = shown.diagnostic;
        let mut place = d.place().unwrap_or_default();
        if let Some(record) = d.record {
            place.push_str(&format!(" (record {record})"));
        }
        let mut message = d.message.clone();
        if let Some(repeats) = shown.repeats() {
            message.push_str(&format!(" ({repeats})"));
        }
        let icon = if d.is_error() { "❌" } else { "⚠️" };
        self.rows.push(format!(
            "| {icon} {} | `{}` | {} | {} |",
            d.severity.as_str(),
            d.code,
            cell(&place),
            cell(&message)
        ));
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let verdict = if summary.errors == 0 && summary.ended.is_none() {
            "✅"
        } else {
            "❌"
        };
        let mut text = format!("### {verdict} {}\n\n", summary.title());
        if !summary.headline.is_empty() {
            text.push_str(&format!("{}\n\n", cell(&summary.headline)));
        }
        if !self.rows.is_empty() {
            text.push_str("| Severity | Code | Where | Problem |\n|---|---|---|---|\n");
            for row in &self.rows {
                text.push_str(row);
                text.push('\n');
            }
            text.push('\n');
        }
        let hidden = self.more + summary.not_shown;
        if hidden > 0 {
            text.push_str(&format!("{hidden} more problem(s) not shown.\n\n"));
        }
        self.out.write_str(&text)?;
        self.out.flush()
    }
}
