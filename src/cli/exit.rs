//! Exit codes by failure class. Scripts depend on these; tests pin them.

use std::process::ExitCode;

/// Everything succeeded.
pub const OK: u8 = 0;
/// Some records are invalid or failed (the run itself worked).
pub const RECORDS_REJECTED: u8 = 1;
/// Bad usage, unreadable files, or template errors: nothing was processed.
pub const USAGE_OR_TEMPLATE: u8 = 2;
/// The server could not be reached, or refused the token, the service or the function.
pub const SERVER: u8 = 3;

/// The process exit code for a class.
pub fn code(class: u8) -> ExitCode {
    ExitCode::from(class)
}
