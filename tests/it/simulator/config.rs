//! What a test says about the site it wants: settings, seed data, tokens.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moodlec::moodle::password::Policy;

use super::faults::Faults;
use super::functions;
use super::state::{Category, ProfileField, User};

pub use super::state::Course;

/// The token of [`SiteConfig::default`]: the admin's token for the
/// [`SERVICE`] service, which holds every simulated function.
pub const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// Shortname of the default service.
pub const SERVICE: &str = "moodlec";

/// Password of the seeded admin (user 2, username `admin`).
pub const ADMIN_PASSWORD: &str = "Admin-123";

/// An external service: a named list of functions tokens give access to.
#[derive(Clone, Debug)]
pub struct Service {
    pub shortname: String,
    pub functions: Vec<String>,
}

impl Service {
    pub fn new(shortname: &str, functions: &[&str]) -> Self {
        Service {
            shortname: shortname.to_string(),
            functions: functions.iter().map(|f| f.to_string()).collect(),
        }
    }

    /// A service with every function the simulator implements.
    pub fn all(shortname: &str) -> Self {
        let names: Vec<&str> = functions::FUNCTIONS.iter().map(|f| f.name).collect();
        Service::new(shortname, &names)
    }
}

/// A permanent web-service token of a user for a service.
#[derive(Clone, Debug)]
pub struct Token {
    pub token: String,
    pub userid: i64,
    pub service: String,
}

impl Token {
    pub fn new(token: &str, userid: i64, service: &str) -> Self {
        Token {
            token: token.to_string(),
            userid,
            service: service.to_string(),
        }
    }
}

/// The site: its settings (moodle-ws.md names in brackets), seed data and
/// initial faults. `SiteConfig::default()` is a fresh site: guest (1) and
/// admin (2), category 1, no courses, the admin's [`TOKEN`].
#[derive(Clone, Debug)]
pub struct SiteConfig {
    /// The front page's full name (course 1).
    pub sitename: String,
    /// The front page's short name (course 1).
    pub site_shortname: String,
    /// Debugging at NORMAL or above: error objects carry `debuginfo` (1.4).
    pub debug: bool,
    /// `$CFG->allowaccountssameemail` (2.1 step 7, 2.2).
    pub allow_accounts_same_email: bool,
    /// PHP's `max_input_vars` (4.3).
    pub max_input_vars: usize,
    /// PHP's `post_max_size` in bytes: a larger body is discarded whole and
    /// Moodle sees no body parameters (4.3).
    pub post_max_size: usize,
    /// A reverse proxy in front of PHP that answers HTTP 413 to a larger
    /// body (nginx `client_max_body_size`, 1 MB by default there); `None`:
    /// no proxy limit.
    pub proxy_body_limit: Option<usize>,
    /// Web services and REST enabled; when off, server.php answers HTTP 200
    /// with an empty body (1.1).
    pub rest_enabled: bool,
    /// `$CFG->passwordpolicy` on with these settings, or off (3.4).
    pub password_policy: Option<Policy>,
    /// Installed language packs; the first is the site default (3.6).
    pub langs: Vec<String>,
    /// Installed auth plugins (PARAM_AUTH, 2.1 step 3).
    pub auth_plugins: Vec<String>,
    /// Installed themes (PARAM_THEME).
    pub themes: Vec<String>,
    /// Roles the token users may assign in a course (3.8).
    pub assignable_roles: Vec<i64>,
    pub categories: Vec<Category>,
    pub courses: Vec<Course>,
    /// Seed users; those with a password can log in through token.php.
    pub users: Vec<User>,
    /// Custom user profile fields defined on the site, in display order.
    pub profile_fields: Vec<ProfileField>,
    pub services: Vec<Service>,
    pub tokens: Vec<Token>,
    pub faults: Faults,
    /// A site (or proxy) that echoes the `wstoken` it received: raw,
    /// percent-encoded and with `+` read as a space, into the string values
    /// of its answers (those moodlec matches on excepted), into error
    /// messages and debuginfo, and into its HTML error pages. JSON escapes
    /// `/` as `\/`, as PHP does.
    pub echo_token: bool,
    /// PHP workers serving server.php (php-fpm `pm.max_children`): a call
    /// holds one while Moodle works on it (the fault plan's latency plus
    /// `cost_per_record` per record) and waits while all are busy. `None`:
    /// as many as there are calls.
    pub workers: Option<usize>,
    /// Time a worker spends per record a write call writes (the length of
    /// its main list parameter, or 1), on top of the latency; reads cost
    /// only the latency.
    pub cost_per_record: Duration,
    /// Calls in flight at the site, waiting for a worker included: a test
    /// keeps a clone to read the peak.
    pub load: Load,
    /// `$CFG->messaging` (core_message_send_instant_messages: `disabled`).
    pub messaging: bool,
    /// `$CFG->enablenotes` (core_notes_create_notes: `notesdisabled`).
    pub enable_notes: bool,
    /// `$CFG->enablecompletion` (site-wide completion tracking).
    pub enable_completion: bool,
    /// `$CFG->allowcategorythemes` / `allowcohortthemes`: a theme given to a
    /// category or cohort is kept (and must be installed) only when on.
    pub allow_category_themes: bool,
    pub allow_cohort_themes: bool,
}

/// Calls in flight at the site, and the most seen at once.
#[derive(Clone, Debug, Default)]
pub struct Load(Arc<(AtomicUsize, AtomicUsize)>);

impl Load {
    /// A call arrived; the peak so far counts it.
    pub fn enter(&self) {
        let now = self.0 .0.fetch_add(1, Ordering::SeqCst) + 1;
        self.0 .1.fetch_max(now, Ordering::SeqCst);
    }

    /// A call was answered.
    pub fn leave(&self) {
        self.0 .0.fetch_sub(1, Ordering::SeqCst);
    }

    /// The most calls in flight at once so far.
    pub fn peak(&self) -> usize {
        self.0 .1.load(Ordering::SeqCst)
    }
}

impl Default for SiteConfig {
    fn default() -> Self {
        let strings = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        let guest = User {
            firstname: "Guest user".to_string(),
            lastname: " ".to_string(),
            ..User::new(1, "guest", "root@localhost")
        };
        let admin = User {
            firstname: "Admin".to_string(),
            lastname: "User".to_string(),
            site_admin: true,
            ..User::new(2, "admin", "admin@example.org").with_password(ADMIN_PASSWORD)
        };
        SiteConfig {
            sitename: "Moodle simulator".to_string(),
            site_shortname: "simulator".to_string(),
            debug: false,
            allow_accounts_same_email: false,
            max_input_vars: 1000,
            post_max_size: 8 * 1024 * 1024,
            proxy_body_limit: None,
            rest_enabled: true,
            password_policy: Some(Policy::default()),
            langs: strings(&["en"]),
            auth_plugins: strings(&[
                "cas",
                "db",
                "email",
                "ldap",
                "lti",
                "manual",
                "mnet",
                "nologin",
                "none",
                "oauth2",
                "shibboleth",
                "webservice",
            ]),
            themes: strings(&["boost", "classic"]),
            assignable_roles: vec![1, 3, 4, 5],
            categories: vec![Category::new(1, "Category 1")],
            courses: Vec::new(),
            users: vec![guest, admin],
            profile_fields: Vec::new(),
            services: vec![Service::all(SERVICE)],
            tokens: vec![Token::new(TOKEN, 2, SERVICE)],
            faults: Faults::default(),
            echo_token: false,
            workers: None,
            cost_per_record: Duration::ZERO,
            load: Load::default(),
            messaging: true,
            enable_notes: true,
            enable_completion: true,
            allow_category_themes: false,
            allow_cohort_themes: false,
        }
    }
}

impl SiteConfig {
    /// The site's default language (`$CFG->lang`).
    pub fn default_lang(&self) -> &str {
        self.langs.first().map_or("en", String::as_str)
    }

    pub fn service(&self, shortname: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.shortname == shortname)
    }
}
