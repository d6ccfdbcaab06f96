//! GitHub Actions workflow commands: one `::error` or `::warning` per
//! problem, located (file, line, col, endLine, endColumn) so that GitHub
//! marks the line in the pull request.

use std::io;

use moodlec::diagnostic::Diagnostic;

use super::sink::{Destination, Shown, Sink, Summary};

pub struct Github {
    out: Destination,
}

impl Github {
    pub fn new(out: Destination) -> Github {
        Github { out }
    }
}

/// The annotation of one problem.
pub fn annotation(shown: &Shown<'_>) -> String {
    let d: &Diagnostic = shown.diagnostic;
    let mut properties = Vec::new();
    if let Some(file) = &d.file {
        properties.push(format!("file={}", escape_property(file)));
    }
    if let Some(at) = &d.location {
        properties.push(format!("line={}", at.line));
        properties.push(format!("col={}", at.column));
        if at.end_line != at.line || at.end_column != at.column {
            properties.push(format!("endLine={}", at.end_line));
            properties.push(format!("endColumn={}", at.end_column));
        }
    }
    properties.push(format!("title={}", escape_property(d.code.as_str())));
    let mut message = match d.record {
        Some(record) => format!("record {record}: {}", d.message),
        None => d.message.clone(),
    };
    if let Some(help) = &d.help {
        message.push_str(" — ");
        message.push_str(help);
    }
    if let Some(also) = d.see_also() {
        message.push_str(&format!(" ({also})"));
    }
    if let Some(repeats) = shown.repeats() {
        message.push_str(&format!(" ({repeats})"));
    }
    format!(
        "::{} {}::{}\n",
        d.severity.as_str(),
        properties.join(","),
        escape_data(&message)
    )
}

impl Sink for Github {
    fn diagnostic(&mut self, shown: &Shown<'_>) -> io::Result<()> {
        self.out.write_str(&annotation(shown))
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        if summary.not_shown > 0 {
            self.out.write_str(&format!(
                "::notice title=moodlec::{} more problem(s) not shown (--max-errors)\n",
                summary.not_shown
            ))?;
        }
        self.out.flush()
    }
}

/// Workflow command escaping for the message part.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Workflow command escaping for properties (file, title).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use moodlec::diagnostic::{Code, Location, Severity};

    #[test]
    fn an_annotation_has_the_file_line_and_column_and_escapes_what_github_reads() {
        let d = Diagnostic {
            file: Some("a,b:c.csv".to_owned()),
            location: Some(Location {
                line: 4,
                column: 12,
                end_line: 4,
                end_column: 15,
                bytes: None,
            }),
            record: Some(3),
            ..Diagnostic::new(Code::WrongType, Severity::Error, "100% wrong\nreally")
        };
        assert_eq!(
            annotation(&Shown::once(&d)),
            "::error file=a%2Cb%3Ac.csv,line=4,col=12,endLine=4,endColumn=15,title=wrong_type::record 3: 100%25 wrong%0Areally\n"
        );
    }
}
