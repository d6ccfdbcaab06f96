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

/// What Moodle's web service checks of a country (lib/classes/user.php:
/// `country` is PARAM_ALPHA): letters only, '' allowed. Anything else
/// rejects the whole call. A code that is not in [`COUNTRIES`] passes: see
/// [`unlisted`].
pub fn country(s: &str) -> Result<(), Rejection> {
    alpha(s).map_err(|_| {
        Rejection::new(
            "Moodle country codes are two letters (ISO 3166-1 alpha-2, e.g. GB); \
             any other character makes Moodle reject the whole call",
        )
    })
}

/// Why a country Moodle accepts is probably wrong: letters that are not a
/// code of [`COUNTRIES`] (`uk`, `USA`, `XX`). Moodle does not reject them
/// (user/lib.php user_create_user() runs core_user::validate() and only
/// cleans the fields that fail it, with a developer debugging message;
/// clean_field() replaces a value outside the choices with the site's
/// default country), so this is a warning, never an error.
pub fn unlisted(s: &str) -> Option<Rejection> {
    if s.is_empty() || COUNTRIES.binary_search(&s).is_ok() || alpha(s).is_err() {
        return None;
    }
    let message = "not an uppercase ISO 3166-1 alpha-2 code of Moodle's country list (e.g. GB); \
                   Moodle accepts it but does not store it as a country users can see";
    let upper = s.to_ascii_uppercase();
    Some(if COUNTRIES.binary_search(&upper.as_str()).is_ok() {
        Rejection::with_cleaned(message, upper)
    } else {
        Rejection::new(message)
    })
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
            ("au", Ok(())),
            ("Gb", Ok(())),
            ("UK", Ok(())),
            ("XX", Ok(())),
            ("USA", Ok(())),
            ("G", Ok(())),
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
        let hard = country("G1").err().map(|r| r.message).unwrap_or_default();
        assert!(hard.contains("reject the whole call"));
    }

    #[test]
    fn unlisted_codes_are_advice_not_rejections() {
        let cases: &[(&str, Option<Option<&str>>)] = &[
            ("GB", None),
            ("", None),
            ("G1", None),
            ("us", Some(Some("US"))),
            ("USA", Some(None)),
            ("XX", Some(None)),
            ("UK", Some(None)),
        ];
        for (input, expected) in cases {
            let got = unlisted(input).map(|r| r.cleaned);
            assert_eq!(got, expected.map(|c| c.map(str::to_owned)), "unlisted({input:?})");
        }
    }
}
