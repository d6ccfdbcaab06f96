use super::Rejection;
fn r(m: &str) -> Rejection {
    Rejection {
        message: m.into(),
        cleaned: None,
    }
}
pub fn int(s: &str) -> Result<i64, Rejection> {
    s.parse().map_err(|_| r("not an int"))
}
pub fn bool_value(s: &str) -> Result<bool, Rejection> {
    match s {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(r("not a bool")),
    }
}
pub fn float(s: &str) -> Result<f64, Rejection> {
    s.parse().map_err(|_| r("not a float"))
}
pub fn text(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
pub fn notags(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
pub fn raw(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
pub fn raw_trimmed(s: &str) -> Result<(), Rejection> {
    if s.trim() == s {
        Ok(())
    } else {
        Err(r("untrimmed"))
    }
}
pub fn alpha(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
pub fn alphanum(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
pub fn alphanumext(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
pub fn safedir(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
pub fn plugin(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
pub fn auth(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
pub fn theme(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
pub fn username(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
pub fn lang(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
pub fn timezone(_s: &str) -> Result<(), Rejection> {
    Ok(())
}
