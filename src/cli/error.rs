//! The one error type of the commands: what ended a command, how to fix it,
//! and its exit class. Commands return it; only `cli::run` prints it.

use moodlec::diagnostic::{Code, TemplateDiagnostic};
use moodlec::params::ParamError;
use moodlec::site::preflight::Refusal;
use moodlec::site::url::SiteUrlError;

use super::exit::ExitClass;

/// Why a command stopped, which decides its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad usage, a local file that cannot be read or written, a template error (exit 2).
    Usage,
    /// The server could not be reached, or refused the token, the service or a function (exit 3).
    Server,
    /// The run was stopped by Ctrl-C: what was not sent is reported as not done (exit 1).
    Interrupted,
    /// The work was refused as it stands: a plan a rail stops, a plan that drifted (exit 1).
    Rejected,
}

impl ErrorKind {
    /// The code of the diagnostic that says why the command stopped.
    pub fn code(self) -> Code {
        match self {
            ErrorKind::Usage => Code::Usage,
            ErrorKind::Server => Code::Server,
            ErrorKind::Interrupted => Code::Interrupted,
            ErrorKind::Rejected => Code::Rejected,
        }
    }

    /// The exit class of a command that stopped this way.
    pub fn exit_class(self) -> ExitClass {
        match self {
            ErrorKind::Usage => ExitClass::UsageOrTemplate,
            ErrorKind::Server => ExitClass::Server,
            ErrorKind::Interrupted | ErrorKind::Rejected => ExitClass::RecordsRejected,
        }
    }
}

/// One thing that is wrong, and how to fix it when that is known.
#[derive(Debug)]
pub struct Message {
    pub message: String,
    pub help: Option<String>,
}

/// What is shown for an error.
#[derive(Debug)]
pub enum Report {
    /// What went wrong: usually one message, several when one check found several things.
    Messages(Vec<Message>),
    /// A template that does not compile: its diagnostics say why.
    Template(Vec<TemplateDiagnostic>),
    /// The command has printed why already (check's diagnostics, fmt's files).
    AlreadyShown,
}

/// An error that ended a command.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    report: Report,
}

impl Error {
    /// Bad usage, an unreadable or unwritable local file, a refused template (exit 2).
    pub fn usage(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Usage, message)
    }

    /// The site could not be reached or refused us (exit 3).
    pub fn server(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Server, message)
    }

    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            report: Report::Messages(vec![Message {
                message: message.into(),
                help: None,
            }]),
        }
    }

    /// Work refused as it stands, for these reasons (exit 1).
    pub fn rejected(messages: Vec<Message>) -> Error {
        Error {
            kind: ErrorKind::Rejected,
            report: Report::Messages(messages),
        }
    }

    /// A template with compile errors (exit 2): its diagnostics are the message.
    pub fn template(diagnostics: Vec<TemplateDiagnostic>) -> Error {
        Error {
            kind: ErrorKind::Usage,
            report: Report::Template(diagnostics),
        }
    }

    /// An error whose reasons the command has printed already, as it went.
    pub fn already_shown(kind: ErrorKind) -> Error {
        Error {
            kind,
            report: Report::AlreadyShown,
        }
    }

    /// The same error, with how to fix it.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Error {
        if let Report::Messages(messages) = &mut self.report {
            if let Some(last) = messages.last_mut() {
                last.help = Some(help.into());
            }
        }
        self
    }

    /// This error and then `other`'s messages, shown one after the other.
    #[must_use]
    pub fn and(mut self, other: Error) -> Error {
        if let (Report::Messages(mine), Report::Messages(theirs)) = (&mut self.report, other.report) {
            mine.extend(theirs);
        }
        self
    }

    /// The same error with `help` when there is one.
    #[must_use]
    pub fn with_optional_help(self, help: Option<impl Into<String>>) -> Error {
        match help {
            Some(help) => self.with_help(help),
            None => self,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn report(&self) -> &Report {
        &self.report
    }
}

/// The preflight or a lookup: the site refused (exit 3).
impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Error {
        Error::server(refusal.message).with_help(refusal.help)
    }
}

/// `--set NAME=VALUE` names no param or has a bad value (exit 2).
impl From<ParamError> for Error {
    fn from(error: ParamError) -> Error {
        Error::usage(error.message).with_optional_help(error.help)
    }
}

/// `--url` is not a site address we may use (exit 2).
impl From<SiteUrlError> for Error {
    fn from(error: SiteUrlError) -> Error {
        Error::usage(error.to_string()).with_help(error.help())
    }
}
