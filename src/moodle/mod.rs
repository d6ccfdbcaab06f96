//! TEMPORARY stub, replaced by the real rules module.
pub mod country;
pub mod email;
pub mod params;
pub mod password;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub message: String,
    pub cleaned: Option<String>,
}
