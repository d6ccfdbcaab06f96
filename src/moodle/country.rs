//! Country codes: the keys of lang/en/countries.php, which
//! `get_string_manager()->get_list_of_countries()` offers as the `choices`
//! of the user field `country` (lib/classes/user.php).

use super::params::alpha;
use super::Rejection;

/// The ISO 3166-1 alpha-2 codes Moodle ships in lang/en/countries.php
/// (249 codes; "AN" was removed in newer releases), sorted.
pub const COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA",
    "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV",
    "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU",
    "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES",
    "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM",
    "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE",
    "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM",
    "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY",
    "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT",
    "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU",
    "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA",
    "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM",
    "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL",
    "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE",
    "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Follows lib/classes/user.php (`country`: PARAM_ALPHA with the country
/// list as choices) and `core_user::clean_field()`: accepted are the codes
/// in [`COUNTRIES`], exactly as written (uppercase), and '' (not set).
/// Non-letters fail PARAM_ALPHA and reject the whole call; letters that are
/// not a listed code pass the web-service check but user_create_user then
/// silently stores the site's default country instead.
pub fn country(s: &str) -> Result<(), Rejection> {
    if s.is_empty() || COUNTRIES.binary_search(&s).is_ok() {
        return Ok(());
    }
    if alpha(s).is_err() {
        return Err(Rejection::new(
            "Moodle country codes are two letters (ISO 3166-1 alpha-2, e.g. GB); \
             any other character makes Moodle reject the whole call",
        ));
    }
    let message = "Moodle country codes are uppercase ISO 3166-1 alpha-2 codes (e.g. GB); \
                   Moodle would silently replace this value with the site's default country";
    let upper = s.to_ascii_uppercase();
    if COUNTRIES.binary_search(&upper.as_str()).is_ok() {
        Err(Rejection::with_cleaned(message, upper))
    } else {
        Err(Rejection::new(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_unique_and_complete() {
        assert_eq!(COUNTRIES.len(), 249);
        assert!(COUNTRIES.windows(2).all(|w| w[0] < w[1]));
        assert!(COUNTRIES
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
        for code in ["AU", "CZ", "GB", "US", "SS", "XK"] {
            assert_eq!(COUNTRIES.contains(&code), code != "XK", "{code}");
        }
        assert!(
            !COUNTRIES.contains(&"AN"),
            "Netherlands Antilles is no longer listed"
        );
        assert!(!COUNTRIES.contains(&"UK"), "the ISO code is GB");
    }

    #[test]
    fn country_values() {
        let cases: &[(&str, Result<(), Option<&str>>)] = &[
            ("AU", Ok(())),
            ("GB", Ok(())),
            ("ZW", Ok(())),
            ("", Ok(())),
            ("au", Err(Some("AU"))),
            ("Gb", Err(Some("GB"))),
            ("UK", Err(None)),
            ("XX", Err(None)),
            ("GBR", Err(None)),
            ("G", Err(None)),
            ("G1", Err(None)),
            (" GB", Err(None)),
            ("GB\n", Err(None)),
        ];
        for (input, expected) in cases {
            let got = country(input).map_err(|r| r.cleaned);
            assert_eq!(
                got,
                expected.map_err(|c| c.map(str::to_string)),
                "country({input:?})"
            );
        }
        let silent = country("au").err().map(|r| r.message).unwrap_or_default();
        assert!(silent.contains("silently replace"));
        let hard = country("G1").err().map(|r| r.message).unwrap_or_default();
        assert!(hard.contains("reject the whole call"));
    }
}
