//! "Did you mean ...?" for misspelled names.

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (distance(name, candidate), candidate))
        .filter(|&(distance, candidate)| distance <= max_distance(name, candidate))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// A help line suggesting the closest candidate, or listing them if there are few.
pub fn suggestion(name: &str, candidates: &[&str]) -> Option<String> {
    if let Some(best) = did_you_mean(name, candidates.iter().copied()) {
        return Some(format!("did you mean `{best}`?"));
    }
    match candidates.len() {
        0 => None,
        1..=12 => Some(format!("expected one of: {}", candidates.join(", "))),
        _ => None,
    }
}

/// Edit distance, except that a name one is a prefix of (`integr` / `int`)
/// counts as close: people abbreviate and over-type names.
fn distance(name: &str, candidate: &str) -> usize {
    let shorter = name.len().min(candidate.len());
    if shorter >= 3 && (name.starts_with(candidate) || candidate.starts_with(name)) {
        return 1;
    }
    strsim::damerau_levenshtein(name, candidate)
}

fn max_distance(name: &str, candidate: &str) -> usize {
    (name.len().max(candidate.len()) / 3).max(1)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn finds_close_names() {
        assert_eq!(did_you_mean("integr", ["int", "text"]), Some("int"));
        assert_eq!(did_you_mean("emial", ["username", "email"]), Some("email"));
        assert_eq!(did_you_mean("usrname", ["username", "email"]), Some("username"));
        assert_eq!(did_you_mean("zzz", ["username", "email"]), None);
    }
}
