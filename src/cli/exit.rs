//! Exit codes by failure class. Scripts depend on these; tests pin them.

use std::process::ExitCode;

/// How a command ended, as scripts see it: the only place that knows the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitClass {
    /// Everything succeeded.
    Ok,
    /// Some records are invalid or failed (the run itself worked).
    RecordsRejected,
    /// Bad usage, unreadable files, or template errors: nothing was processed.
    UsageOrTemplate,
    /// The server could not be reached, or refused the token, the service or the function.
    Server,
    /// `plan --detailed-exitcode`: the plan has changes (none is 0).
    ChangesPending,
}

impl From<ExitClass> for ExitCode {
    fn from(class: ExitClass) -> ExitCode {
        ExitCode::from(match class {
            ExitClass::Ok => 0,
            ExitClass::RecordsRejected => 1,
            ExitClass::UsageOrTemplate => 2,
            ExitClass::Server => 3,
            ExitClass::ChangesPending => 4,
        })
    }
}

/// What a command that ran to its end reports: every record fine, or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Every record (call, file) went through.
    Ok,
    /// Some records were invalid, failed or were refused (each one reported).
    Rejected,
    /// A plan with changes, asked to say so (`--detailed-exitcode`).
    ChangesPending,
}

impl Outcome {
    /// `Rejected` when `rejected`, else `Ok`.
    pub fn rejected_if(rejected: bool) -> Outcome {
        if rejected {
            Outcome::Rejected
        } else {
            Outcome::Ok
        }
    }

    /// The exit class of a command that ended this way.
    pub fn exit_class(self) -> ExitClass {
        match self {
            Outcome::Ok => ExitClass::Ok,
            Outcome::Rejected => ExitClass::RecordsRejected,
            Outcome::ChangesPending => ExitClass::ChangesPending,
        }
    }
}
