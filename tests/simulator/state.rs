//! The simulated site's database: users, categories, courses and manual
//! enrolments. Seeded from [`SiteConfig`](super::SiteConfig), changed only by
//! the write functions, cloned out by `Simulator::state()` for assertions.

use std::collections::{BTreeMap, BTreeSet};

/// Moodle's roles on a fresh install (moodle-ws.md 3.8).
pub mod role {
    pub const MANAGER: i64 = 1;
    pub const COURSE_CREATOR: i64 = 2;
    pub const EDITING_TEACHER: i64 = 3;
    pub const TEACHER: i64 = 4;
    pub const STUDENT: i64 = 5;
    pub const GUEST: i64 = 6;
}

/// A row of `mdl_user`, with the fields the simulated functions touch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// Plain text (a real site stores a hash); `None` when no password is
    /// stored (createpassword, or an external auth plugin).
    pub password: Option<String>,
    pub firstname: String,
    pub lastname: String,
    pub email: String,
    pub auth: String,
    pub idnumber: String,
    pub suspended: bool,
    pub deleted: bool,
    pub site_admin: bool,
    /// createpassword was set: Moodle mailed a generated password.
    pub password_mailed: bool,
    /// Every other profile field that was sent (city, country, lang, …).
    pub fields: BTreeMap<String, String>,
    /// Custom profile fields by shortname.
    pub customfields: BTreeMap<String, String>,
    pub preferences: BTreeMap<String, String>,
}

impl User {
    /// A confirmed manual-auth user for seeding.
    pub fn new(id: i64, username: &str, email: &str) -> Self {
        User {
            id,
            username: username.to_string(),
            firstname: "First".to_string(),
            lastname: "Last".to_string(),
            email: email.to_string(),
            auth: "manual".to_string(),
            ..User::default()
        }
    }

    /// The same user with a login password.
    pub fn with_password(mut self, password: &str) -> Self {
        self.password = Some(password.to_string());
        self
    }

    pub fn fullname(&self) -> String {
        format!("{} {}", self.firstname, self.lastname)
    }

    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub parent: i64,
    pub idnumber: String,
}

impl Category {
    pub fn new(id: i64, name: &str) -> Self {
        Category {
            id,
            name: name.to_string(),
            parent: 0,
            idnumber: String::new(),
        }
    }
}

/// A course's manual enrolment instance (moodle-ws.md 2.5 step 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManualEnrol {
    Enabled,
    Disabled,
    Missing,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Course {
    pub id: i64,
    pub shortname: String,
    pub fullname: String,
    pub categoryid: i64,
    pub idnumber: String,
    pub summary: String,
    pub summaryformat: i64,
    pub format: String,
    pub startdate: i64,
    pub enddate: i64,
    pub visible: bool,
    pub manual_enrol: ManualEnrol,
}

impl Course {
    /// A visible course with an enabled manual enrolment instance, as the
    /// manual plugin gives every new course by default.
    pub fn new(id: i64, shortname: &str, categoryid: i64) -> Self {
        Course {
            id,
            shortname: shortname.to_string(),
            fullname: shortname.to_string(),
            categoryid,
            idnumber: String::new(),
            summary: String::new(),
            summaryformat: 1,
            format: "topics".to_string(),
            startdate: 0,
            enddate: 0,
            visible: true,
            manual_enrol: ManualEnrol::Enabled,
        }
    }
}

/// A user's manual enrolment in a course with the roles assigned through it.
#[derive(Clone, Debug, PartialEq)]
pub struct Enrolment {
    pub courseid: i64,
    pub userid: i64,
    pub roles: BTreeSet<i64>,
    pub timestart: i64,
    pub timeend: i64,
    pub suspended: bool,
}

/// Everything the functions read and write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SiteState {
    pub users: BTreeMap<i64, User>,
    pub categories: BTreeMap<i64, Category>,
    pub courses: BTreeMap<i64, Course>,
    /// Keyed by (courseid, userid).
    pub enrolments: BTreeMap<(i64, i64), Enrolment>,
    /// Next id of `mdl_user`. Like a PostgreSQL sequence it is not rolled
    /// back: users inserted by a call that then failed used up their ids.
    pub next_user_id: i64,
    pub next_course_id: i64,
}

impl SiteState {
    pub fn new(categories: &[Category], courses: &[Course], users: &[User]) -> Self {
        let next = |max: Option<i64>, floor: i64| max.unwrap_or(0).max(floor) + 1;
        SiteState {
            users: users.iter().map(|u| (u.id, u.clone())).collect(),
            categories: categories.iter().map(|c| (c.id, c.clone())).collect(),
            courses: courses.iter().map(|c| (c.id, c.clone())).collect(),
            enrolments: BTreeMap::new(),
            next_user_id: next(users.iter().map(|u| u.id).max(), 2),
            // Course 1 is the front page on every Moodle site.
            next_course_id: next(courses.iter().map(|c| c.id).max(), 1),
        }
    }

    pub fn user_by_username(&self, username: &str) -> Option<&User> {
        self.users.values().find(|u| u.username == username)
    }

    pub fn course_by_shortname(&self, shortname: &str) -> Option<&Course> {
        self.courses.values().find(|c| c.shortname == shortname)
    }

    pub fn enrolment(&self, courseid: i64, userid: i64) -> Option<&Enrolment> {
        self.enrolments.get(&(courseid, userid))
    }

    pub fn take_user_id(&mut self) -> i64 {
        let id = self.next_user_id;
        self.next_user_id += 1;
        id
    }

    pub fn take_course_id(&mut self) -> i64 {
        let id = self.next_course_id;
        self.next_course_id += 1;
        id
    }
}
