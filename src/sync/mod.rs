//! Stage 7: keep Moodle equal to a roster. A sync template says what one
//! roster row is in Moodle's terms and how rows match Moodle records; a
//! plan is the difference between the roster (desired) and what Moodle
//! holds (actual), with the Moodle state each change was computed from;
//! apply sends exactly that plan through the runner.
//!
//! - [`desired`]: roster records through the template, one row per key;
//! - [`actual`]: Moodle's records, read in bulk;
//! - [`fields`]: comparing what Moodle stores with what the roster says;
//! - [`diff`]: the changes of one step;
//! - [`rails`]: what stops a plan that removes too much;
//! - [`planner`]: all steps, numbered, counted, railed;
//! - [`model`]: the plan and its JSON form;
//! - [`show`]: the terminal and Markdown views;
//! - [`apply`]: drift check, then the changes through the runner.
//!
//! Adding an object kind (groups, cohort members) is a sync template pair
//! plus a key: its reads in `actual`, its comparable fields in `fields`,
//! its write templates in `apply::builtin_for`.

pub mod actual;
pub mod apply;
pub mod desired;
pub mod diff;
pub mod fields;
pub mod model;
pub mod planner;
pub mod rails;
pub mod show;
