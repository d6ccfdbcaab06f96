//! One module per subcommand: each parses nothing and prints what its library call returns.

pub mod apply;
pub mod check;
pub mod completions;
pub mod explain;
pub mod fetch;
pub mod fmt;
pub mod login;
pub mod man;
pub mod new;
pub mod plan;
pub mod render;
pub mod run;
pub mod sync;
pub mod templates;
pub mod validate;
