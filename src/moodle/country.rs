use super::Rejection;
pub fn country(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
pub const COUNTRIES: &[&str] = &["GB", "FR"];
