//! JUnit XML, what GitLab, Jenkins, Azure DevOps and CircleCI show as test
//! results: one testsuite per file, one testcase per record with a problem
//! or per template, and one for the records without any. Errors are
//! failures; warnings are the testcase's output; what ended the command is
//! an `<error>` of a testsuite named after the command.

use std::collections::HashMap;
use std::io;

use moodlec::diagnostic::Diagnostic;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::sink::{Checked, Destination, Shown, Sink, Summary};

pub struct Junit {
    out: Destination,
    suites: Vec<Suite>,
    by_name: HashMap<String, usize>,
}

#[derive(Default)]
struct Suite {
    name: String,
    cases: Vec<Case>,
    by_name: HashMap<String, usize>,
}

#[derive(Default)]
struct Case {
    name: String,
    /// The record, for counting the records without problems.
    record: Option<u64>,
    template: Option<String>,
    failures: Vec<Problem>,
    errors: Vec<Problem>,
    warnings: Vec<String>,
}

struct Problem {
    code: &'static str,
    message: String,
    text: String,
}

impl Junit {
    pub fn new(out: Destination) -> Junit {
        Junit {
            out,
            suites: Vec::new(),
            by_name: HashMap::new(),
        }
    }

    fn suite(&mut self, name: &str) -> &mut Suite {
        let at = *self.by_name.entry(name.to_owned()).or_insert_with(|| {
            self.suites.push(Suite {
                name: name.to_owned(),
                ..Suite::default()
            });
            self.suites.len() - 1
        });
        &mut self.suites[at]
    }
}

impl Suite {
    fn case(&mut self, name: String) -> &mut Case {
        let at = *self.by_name.entry(name.clone()).or_insert_with(|| {
            self.cases.push(Case {
                name,
                ..Case::default()
            });
            self.cases.len() - 1
        });
        &mut self.cases[at]
    }
}

/// The testcase a problem belongs to.
fn case_name(d: &Diagnostic, command: &str) -> String {
    match (d.record, &d.template, d.record_line()) {
        (Some(record), _, Some(line)) => format!("record {record} (line {line})"),
        (Some(record), _, None) => format!("record {record}"),
        (None, Some(template), _) => format!("template {template}"),
        (None, None, _) if d.file.is_some() => "file".to_owned(),
        (None, None, _) => command.to_owned(),
    }
}

/// A problem as the text of a failure.
fn problem_text(shown: &Shown<'_>) -> String {
    let d = shown.diagnostic;
    let mut text = format!("{} [{}]", d.severity.as_str(), d.code);
    if let Some(place) = d.place() {
        text.push_str(&format!(" {place}"));
    }
    text.push_str(&format!(": {}", d.message));
    if let Some(help) = &d.help {
        text.push_str(&format!("\n  help: {help}"));
    }
    if let Some(also) = d.see_also() {
        text.push_str(&format!("\n  {also}"));
    }
    if let Some(repeats) = shown.repeats() {
        text.push_str(&format!("\n  {repeats}"));
    }
    text
}

/// Text XML 1.0 may hold: control characters other than tab and line ends are replaced.
fn xml_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

impl Sink for Junit {
    fn diagnostic(&mut self, shown: &Shown<'_>) -> io::Result<()> {
        let d = shown.diagnostic;
        // The command's name is only known at the end: runtime problems go to "".
        let suite_name = d.file.clone().unwrap_or_default();
        let name = case_name(d, "");
        let case = self.suite(&suite_name).case(name);
        case.record = d.record;
        case.template.clone_from(&d.template);
        let problem = Problem {
            code: d.code.as_str(),
            message: d.message.clone(),
            text: problem_text(shown),
        };
        match (d.is_error(), d.file.is_some()) {
            (true, true) => case.failures.push(problem),
            (true, false) => case.errors.push(problem),
            (false, _) => case.warnings.push(problem.text),
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let command = format!("moodlec {}", summary.command);
        for file in &summary.files {
            let suite = self.suite(&file.name);
            match &file.checked {
                Checked::Records { valid, .. } => {
                    let listed = suite
                        .cases
                        .iter()
                        .filter(|c| c.record.is_some() && c.failures.is_empty())
                        .count() as u64;
                    let clean = valid.saturating_sub(listed);
                    if clean > 0 {
                        suite.case(format!("{clean} other valid record(s)"));
                    }
                }
                Checked::Templates { compiled } => {
                    for template in compiled {
                        suite.case(format!("template {template}"));
                    }
                }
            }
        }
        // Suites in the order the files were read; the command's own last.
        let order = |suite: &Suite| {
            summary
                .files
                .iter()
                .position(|f| f.name == suite.name)
                .unwrap_or(if suite.name.is_empty() {
                    usize::MAX
                } else {
                    usize::MAX - 1
                })
        };
        self.suites.sort_by_key(order);
        if let Some(suite) = self.suites.iter_mut().find(|s| s.name.is_empty()) {
            suite.name.clone_from(&command);
            for case in &mut suite.cases {
                if case.name.is_empty() {
                    case.name = summary.command.to_owned();
                }
            }
        }
        let xml = write_xml(&command, &self.suites).map_err(io::Error::other)?;
        self.out.write_str(&xml)?;
        self.out.flush()
    }
}

fn write_xml(name: &str, suites: &[Suite]) -> io::Result<String> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let count = |f: fn(&Case) -> usize| {
        suites
            .iter()
            .flat_map(|s| &s.cases)
            .map(f)
            .filter(|n| *n > 0)
            .count()
    };
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    writer
        .create_element("testsuites")
        .with_attributes([
            ("name", name),
            ("tests", &tests.to_string()),
            ("failures", &count(|c| c.failures.len()).to_string()),
            ("errors", &count(|c| c.errors.len()).to_string()),
        ])
        .write_inner_content(|writer| {
            for suite in suites {
                write_suite(writer, suite)?;
            }
            Ok(())
        })?;
    let mut xml = String::from_utf8(writer.into_inner()).map_err(io::Error::other)?;
    xml.push('\n');
    Ok(xml)
}

fn write_suite(writer: &mut Writer<Vec<u8>>, suite: &Suite) -> io::Result<()> {
    let failures = suite.cases.iter().filter(|c| !c.failures.is_empty()).count();
    let errors = suite.cases.iter().filter(|c| !c.errors.is_empty()).count();
    let name = xml_text(&suite.name);
    writer
        .create_element("testsuite")
        .with_attributes([
            ("name", name.as_str()),
            ("tests", &suite.cases.len().to_string()),
            ("failures", &failures.to_string()),
            ("errors", &errors.to_string()),
            ("skipped", "0"),
        ])
        .write_inner_content(|writer| {
            for case in &suite.cases {
                write_case(writer, &name, case)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_case(writer: &mut Writer<Vec<u8>>, suite: &str, case: &Case) -> io::Result<()> {
    let name = xml_text(&case.name);
    let element = writer
        .create_element("testcase")
        .with_attributes([("name", name.as_str()), ("classname", suite)]);
    if case.failures.is_empty() && case.errors.is_empty() && case.warnings.is_empty() {
        element.write_empty()?;
        return Ok(());
    }
    element.write_inner_content(|writer| {
        for (tag, problems) in [("failure", &case.failures), ("error", &case.errors)] {
            if let Some(first) = problems.first() {
                let text: Vec<&str> = problems.iter().map(|p| p.text.as_str()).collect();
                let message = xml_text(&first.message);
                writer
                    .create_element(tag)
                    .with_attributes([("message", message.as_str()), ("type", first.code)])
                    .write_text_content(BytesText::new(&xml_text(&text.join("\n"))))?;
            }
        }
        if !case.warnings.is_empty() {
            writer
                .create_element("system-out")
                .write_text_content(BytesText::new(&xml_text(&case.warnings.join("\n"))))?;
        }
        Ok(())
    })?;
    Ok(())
}
