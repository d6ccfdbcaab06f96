//! The simulated site's database: users, categories, courses, enrolment
//! instances, enrolments and role assignments. Seeded from
//! [`SiteConfig`](super::SiteConfig), changed only by the write functions and
//! the seeding helpers, cloned out by `Simulator::state()` for assertions.

use std::collections::{BTreeMap, BTreeSet};

/// Moodle's roles on a fresh install (moodle-ws.md 3.8).
pub mod role {
    pub const MANAGER: i64 = 1;
    pub const COURSE_CREATOR: i64 = 2;
    pub const EDITING_TEACHER: i64 = 3;
    pub const TEACHER: i64 = 4;
    pub const STUDENT: i64 = 5;
    pub const GUEST: i64 = 6;

    /// `(shortname, sortorder)` of a built-in role (`mdl_role`); `None` for
    /// ids a fresh install does not have. Their `name` column is empty on a
    /// fresh install (the UI localises the shortname), so web services
    /// answer `"name": ""` for them.
    pub fn info(roleid: i64) -> Option<(&'static str, i64)> {
        let shortname = match roleid {
            MANAGER => "manager",
            COURSE_CREATOR => "coursecreator",
            EDITING_TEACHER => "editingteacher",
            TEACHER => "teacher",
            STUDENT => "student",
            GUEST => "guest",
            7 => "user",
            8 => "frontpage",
            _ => return None,
        };
        Some((shortname, roleid))
    }
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

    /// The same user with these first and last names.
    pub fn with_name(mut self, firstname: &str, lastname: &str) -> Self {
        self.firstname = firstname.to_string();
        self.lastname = lastname.to_string();
        self
    }

    pub fn with_idnumber(mut self, idnumber: &str) -> Self {
        self.idnumber = idnumber.to_string();
        self
    }

    /// A profile field of `mdl_user` (phone1, phone2, address, city,
    /// country, department, institution, description, lang, …).
    pub fn with_field(mut self, name: &str, value: &str) -> Self {
        self.fields.insert(name.to_string(), value.to_string());
        self
    }

    /// A custom profile field value by the field's shortname (its name and
    /// type come from [`SiteState::profile_fields`]).
    pub fn with_customfield(mut self, shortname: &str, value: &str) -> Self {
        self.customfields.insert(shortname.to_string(), value.to_string());
        self
    }

    pub fn with_preference(mut self, name: &str, value: &str) -> Self {
        self.preferences.insert(name.to_string(), value.to_string());
        self
    }
}

/// A custom user profile field definition (`mdl_user_info_field`).
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileField {
    pub shortname: String,
    pub name: String,
    /// `text`, `textarea`, `menu`, `checkbox`, `datetime`…
    pub datatype: String,
}

impl ProfileField {
    /// A text field.
    pub fn new(shortname: &str, name: &str) -> Self {
        ProfileField {
            shortname: shortname.to_string(),
            name: name.to_string(),
            datatype: "text".to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Category {
    pub id: i64,
    pub name: String,
    /// 0 for a top-level category.
    pub parent: i64,
    pub idnumber: String,
    pub description: String,
    pub descriptionformat: i64,
    /// Position among its siblings; the sortorder a web service reports is
    /// derived from the whole tree (see [`SiteState::category_sortorder`]).
    pub sortorder: i64,
    pub visible: bool,
    pub visibleold: bool,
    pub theme: String,
    pub timemodified: i64,
}

impl Category {
    /// A visible top-level category, ordered by id among its siblings.
    pub fn new(id: i64, name: &str) -> Self {
        Category {
            id,
            name: name.to_string(),
            parent: 0,
            idnumber: String::new(),
            description: String::new(),
            descriptionformat: 1,
            sortorder: id,
            visible: true,
            visibleold: true,
            theme: String::new(),
            timemodified: 0,
        }
    }

    /// The same category under `parent`.
    pub fn with_parent(mut self, parent: i64) -> Self {
        self.parent = parent;
        self
    }

    pub fn with_idnumber(mut self, idnumber: &str) -> Self {
        self.idnumber = idnumber.to_string();
        self
    }

    pub fn hidden(mut self) -> Self {
        self.visible = false;
        self.visibleold = false;
        self
    }
}

/// The manual enrolment instance a course is seeded with (moodle-ws.md 2.5
/// step 3). Read when the site first sees the course (at start, or when a
/// test inserted it into [`SiteState::courses`]); afterwards the instance
/// lives in [`SiteState::enrol_instances`] (see
/// [`SiteState::remove_instance`], [`SiteState::set_instance_enabled`]).
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

    pub fn with_fullname(mut self, fullname: &str) -> Self {
        self.fullname = fullname.to_string();
        self
    }

    pub fn with_idnumber(mut self, idnumber: &str) -> Self {
        self.idnumber = idnumber.to_string();
        self
    }

    /// The front page, course 1 (format `site`, category 0): a course row
    /// on every site, not kept in [`SiteState::courses`] so that the
    /// functions which skip it need not filter it out.
    pub fn front_page(fullname: &str, shortname: &str) -> Self {
        Course {
            id: 1,
            shortname: shortname.to_string(),
            fullname: fullname.to_string(),
            categoryid: 0,
            summaryformat: 1,
            format: "site".to_string(),
            manual_enrol: ManualEnrol::Missing,
            ..Course::new(1, shortname, 0)
        }
    }
}

/// A course group (`mdl_groups`) with its members.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub id: i64,
    pub courseid: i64,
    pub name: String,
    pub description: String,
    pub members: BTreeSet<i64>,
    pub descriptionformat: i64,
    pub enrolmentkey: String,
    pub idnumber: String,
    /// GROUPS_VISIBILITY_ALL (0), MEMBERS (1), OWN (2), NONE (3).
    pub visibility: i64,
    pub participation: bool,
    /// Members added by an enrolment plugin (`component` set, e.g.
    /// enrol_cohort): `groups_remove_member_allowed` refuses to remove them.
    pub plugin_members: BTreeSet<i64>,
}

/// A cohort (`mdl_cohort`) with its members.
#[derive(Clone, Debug, PartialEq)]
pub struct Cohort {
    pub id: i64,
    /// The category whose context holds the cohort; `None`: the system context.
    pub categoryid: Option<i64>,
    pub name: String,
    pub idnumber: String,
    pub description: String,
    pub descriptionformat: i64,
    pub visible: bool,
    pub theme: String,
    pub customfields: BTreeMap<String, String>,
    pub members: BTreeSet<i64>,
}

impl Cohort {
    /// A visible system cohort without members.
    pub fn new(id: i64, name: &str, idnumber: &str) -> Self {
        Cohort {
            id,
            categoryid: None,
            name: name.to_string(),
            idnumber: idnumber.to_string(),
            description: String::new(),
            descriptionformat: 1,
            visible: true,
            theme: String::new(),
            customfields: BTreeMap::new(),
            members: BTreeSet::new(),
        }
    }
}

/// A note about a user (`mdl_post` with module 'notes').
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub id: i64,
    pub courseid: i64,
    pub userid: i64,
    /// The token's user.
    pub author: i64,
    pub content: String,
    pub format: i64,
    /// NOTES_STATE_DRAFT (`draft`), NOTES_STATE_PUBLIC (`public`) or NOTES_STATE_SITE (`site`).
    pub publishstate: String,
}

/// A message (`mdl_messages`) in a two-person conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: i64,
    pub useridfrom: i64,
    pub useridto: i64,
    pub conversationid: i64,
    pub text: String,
    pub format: i64,
    pub timecreated: i64,
}

/// A course module (`mdl_course_modules`): an activity or resource on a
/// course page.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// The course module id (cmid).
    pub id: i64,
    pub courseid: i64,
    /// The section number it is in.
    pub section: i64,
    /// `assign`, `forum`, `quiz`, `resource`, `page`, `label`…
    pub modname: String,
    /// Its id in the module's own table.
    pub instance: i64,
    pub name: String,
    pub visible: bool,
    /// 0: none, 1: manual, 2: automatic.
    pub completion: i64,
}

impl Module {
    pub fn new(id: i64, courseid: i64, section: i64, modname: &str, instance: i64, name: &str) -> Self {
        Module {
            id,
            courseid,
            section,
            modname: modname.to_string(),
            instance,
            name: name.to_string(),
            visible: true,
            completion: 0,
        }
    }
}

/// A course completion criterion (`mdl_course_completion_criteria`).
#[derive(Clone, Debug, PartialEq)]
pub struct CompletionCriterion {
    pub id: i64,
    pub courseid: i64,
    /// COMPLETION_CRITERIA_TYPE_SELF (1), DATE (2), UNENROL (3), ACTIVITY (4),
    /// DURATION (5), GRADE (6), ROLE (7), COURSE (8).
    pub criteriatype: i64,
    /// The activity of an ACTIVITY criterion.
    pub moduleinstance: Option<i64>,
}

/// A grade item (`mdl_grade_items`). Each course has one of type `course`
/// (the course total, `itemname` null), created with the course's first
/// grade item or grade; manual items (`manual`) and activity items (`mod`)
/// come after it in `sortorder`.
#[derive(Clone, Debug, PartialEq)]
pub struct GradeItem {
    pub id: i64,
    pub courseid: i64,
    pub itemname: Option<String>,
    /// `course`, `manual`, `mod` or `category`.
    pub itemtype: String,
    pub itemmodule: Option<String>,
    pub iteminstance: Option<i64>,
    pub itemnumber: Option<i64>,
    pub idnumber: Option<String>,
    /// Course module id of a `mod` item.
    pub cmid: Option<i64>,
    pub grademin: f64,
    pub grademax: f64,
    pub sortorder: i64,
    pub hidden: bool,
    pub locked: bool,
}

impl GradeItem {
    /// A manual grade item graded 0–100.
    pub fn new(id: i64, courseid: i64, itemname: &str) -> Self {
        GradeItem {
            id,
            courseid,
            itemname: Some(itemname.to_string()),
            itemtype: "manual".to_string(),
            itemmodule: None,
            iteminstance: None,
            itemnumber: Some(0),
            idnumber: Some(String::new()),
            cmid: None,
            grademin: 0.0,
            grademax: 100.0,
            sortorder: id,
            hidden: false,
            locked: false,
        }
    }

    /// An activity's grade item, e.g. `GradeItem::activity(7, 2, "Essay", "assign", 1, 15)`.
    pub fn activity(id: i64, courseid: i64, itemname: &str, module: &str, instance: i64, cmid: i64) -> Self {
        GradeItem {
            itemtype: "mod".to_string(),
            itemmodule: Some(module.to_string()),
            iteminstance: Some(instance),
            cmid: Some(cmid),
            ..GradeItem::new(id, courseid, itemname)
        }
    }

    /// The course total of a course.
    pub fn course_total(id: i64, courseid: i64) -> Self {
        GradeItem {
            itemname: None,
            itemtype: "course".to_string(),
            itemnumber: None,
            idnumber: None,
            // The course's top grade category; this simulator gives it the
            // course's id.
            iteminstance: Some(courseid),
            sortorder: 0,
            ..GradeItem::new(id, courseid, "")
        }
    }

    pub fn with_grademax(mut self, grademax: f64) -> Self {
        self.grademax = grademax;
        self
    }

    pub fn is_course_total(&self) -> bool {
        self.itemtype == "course"
    }
}

/// A user's grade for a grade item (`mdl_grade_grades`).
#[derive(Clone, Debug, PartialEq)]
pub struct Grade {
    pub finalgrade: Option<f64>,
    pub feedback: String,
    /// Set on a course total given by hand (not computed).
    pub overridden: bool,
    pub timemodified: i64,
}

impl Grade {
    pub fn new(finalgrade: f64) -> Self {
        Grade {
            finalgrade: Some(finalgrade),
            feedback: String::new(),
            overridden: false,
            timemodified: 1_700_000_000,
        }
    }
}

/// A row of `mdl_enrol`: one enrolment method of a course.
#[derive(Clone, Debug, PartialEq)]
pub struct EnrolInstance {
    pub id: i64,
    pub courseid: i64,
    /// The plugin: `manual`, `self`, `cohort`, `database`, `meta`, `guest`…
    pub enrol: String,
    /// Custom name; '' means the plugin's default name.
    pub name: String,
    /// ENROL_INSTANCE_ENABLED (true) or ENROL_INSTANCE_DISABLED.
    pub enabled: bool,
    /// Default role of the method (`roleid` column).
    pub roleid: i64,
}

impl EnrolInstance {
    /// The component of the role assignments the plugin makes: '' for
    /// plugins whose roles are not protected (manual, self, guest: they call
    /// `role_assign` without component), `enrol_<type>` for the syncing ones
    /// (cohort, database, meta, ldap…), per `roles_protected()` in
    /// enrol/*/lib.php.
    pub fn role_component(&self) -> String {
        match self.enrol.as_str() {
            "manual" | "self" | "guest" | "fee" | "paypal" => String::new(),
            other => format!("enrol_{other}"),
        }
    }
}

/// A row of `mdl_user_enrolments` (a user's enrolment in a course through
/// one instance) with the roles assigned through it: for a manual enrolment
/// the course roles without component (also those given by
/// core_role_assign_roles); for other methods the roles with the plugin's
/// component and the instance as itemid.
#[derive(Clone, Debug, PartialEq)]
pub struct Enrolment {
    pub courseid: i64,
    pub userid: i64,
    /// The `mdl_enrol` id this enrolment belongs to.
    pub instanceid: i64,
    pub roles: BTreeSet<i64>,
    pub timestart: i64,
    pub timeend: i64,
    pub suspended: bool,
}

/// One role assignment in a course context (`mdl_role_assignments`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoleAssignment {
    pub roleid: i64,
    /// '' for manual enrolments and core_role_assign_roles.
    pub component: String,
    /// The enrolment instance for a component's assignment, else 0.
    pub itemid: i64,
}

/// Course context ids are this plus the course id (the system context is 1).
pub const COURSE_CONTEXT_BASE: i64 = 1000;

/// Everything the functions read and write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SiteState {
    pub users: BTreeMap<i64, User>,
    pub categories: BTreeMap<i64, Category>,
    pub courses: BTreeMap<i64, Course>,
    /// Manual enrolments, keyed by (courseid, userid).
    pub enrolments: BTreeMap<(i64, i64), Enrolment>,
    /// Enrolments by every other method, keyed by (instanceid, userid).
    pub other_enrolments: BTreeMap<(i64, i64), Enrolment>,
    /// Roles without component of users who have no manual enrolment in
    /// the course (role_assign by core_role_assign_roles, or left behind by
    /// a manual unenrolment while another method keeps the user enrolled),
    /// keyed by (courseid, userid).
    pub loose_roles: BTreeMap<(i64, i64), BTreeSet<i64>>,
    /// `mdl_enrol`, by id.
    pub enrol_instances: BTreeMap<i64, EnrolInstance>,
    /// Courses whose seed instances were made (see [`ManualEnrol`]).
    pub instances_seeded: BTreeSet<i64>,
    /// Next id of `mdl_user`. Like a PostgreSQL sequence it is not rolled
    /// back: users inserted by a call that then failed used up their ids.
    pub next_user_id: i64,
    pub next_course_id: i64,
    /// Custom user profile field definitions, in display order.
    pub profile_fields: Vec<ProfileField>,
    pub groups: BTreeMap<i64, Group>,
    pub grade_items: BTreeMap<i64, GradeItem>,
    /// Keyed by (grade item id, userid).
    pub grades: BTreeMap<(i64, i64), Grade>,
    pub next_grade_item_id: i64,
    /// Last access to a course, keyed by (courseid, userid).
    pub lastcourseaccess: BTreeMap<(i64, i64), i64>,
    pub cohorts: BTreeMap<i64, Cohort>,
    pub notes: Vec<Note>,
    pub messages: Vec<Message>,
    /// Course modules by cmid.
    pub modules: BTreeMap<i64, Module>,
    pub completion_criteria: Vec<CompletionCriterion>,
    /// When a user met a criterion, keyed by (criterion id, userid).
    pub criteria_completions: BTreeMap<(i64, i64), i64>,
    /// Courses with completion tracking off (`enablecompletion` 0).
    pub completion_disabled: BTreeSet<i64>,
}

impl SiteState {
    pub fn new(categories: &[Category], courses: &[Course], users: &[User]) -> Self {
        let next = |max: Option<i64>, floor: i64| max.unwrap_or(0).max(floor) + 1;
        let mut state = SiteState {
            users: users.iter().map(|u| (u.id, u.clone())).collect(),
            categories: categories.iter().map(|c| (c.id, c.clone())).collect(),
            courses: courses.iter().map(|c| (c.id, c.clone())).collect(),
            enrolments: BTreeMap::new(),
            next_user_id: next(users.iter().map(|u| u.id).max(), 2),
            // Course 1 is the front page on every Moodle site.
            next_course_id: next(courses.iter().map(|c| c.id).max(), 1),
            next_grade_item_id: 1,
            ..SiteState::default()
        };
        state.seed_instances();
        state
    }

    pub fn user_by_username(&self, username: &str) -> Option<&User> {
        self.users.values().find(|u| u.username == username)
    }

    pub fn course_by_shortname(&self, shortname: &str) -> Option<&Course> {
        self.courses.values().find(|c| c.shortname == shortname)
    }

    /// The user's manual enrolment in the course (see
    /// [`SiteState::enrolments_in`] for every method).
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

    /// Enrols a user with a role through the course's manual instance (an
    /// active enrolment without dates); enrolling again adds the role. A
    /// course without manual instance gets one (enabled).
    pub fn enrol(&mut self, courseid: i64, userid: i64, roleid: i64) {
        self.enrol_manual(courseid, userid).roles.insert(roleid);
    }

    /// The user's manual enrolment in the course, made (active, no dates)
    /// if missing; roles without component the user already had in the
    /// course move into it.
    pub fn enrol_manual(&mut self, courseid: i64, userid: i64) -> &mut Enrolment {
        self.seed_instances();
        let instanceid = match self.manual_instance(courseid) {
            Some(i) => i.id,
            None => self.add_instance(courseid, "manual"),
        };
        let loose = self.loose_roles.remove(&(courseid, userid)).unwrap_or_default();
        let entry = self
            .enrolments
            .entry((courseid, userid))
            .or_insert_with(|| Enrolment {
                courseid,
                userid,
                instanceid,
                roles: BTreeSet::new(),
                timestart: 0,
                timeend: 0,
                suspended: false,
            });
        entry.roles.extend(loose);
        entry
    }

    /// Makes the seed instances of courses not seen yet: the manual
    /// instance their [`ManualEnrol`] asks for.
    pub fn seed_instances(&mut self) {
        let unseen: Vec<(i64, ManualEnrol)> = self
            .courses
            .values()
            .filter(|c| !self.instances_seeded.contains(&c.id))
            .map(|c| (c.id, c.manual_enrol))
            .collect();
        for (courseid, manual) in unseen {
            self.instances_seeded.insert(courseid);
            if manual != ManualEnrol::Missing {
                let id = self.add_instance(courseid, "manual");
                self.set_instance_enabled(id, manual == ManualEnrol::Enabled);
            }
        }
    }

    /// Adds an enabled enrolment instance of plugin `enrol` (manual, self,
    /// cohort, database, meta, guest…) to a course, default role student;
    /// returns its id.
    pub fn add_instance(&mut self, courseid: i64, enrol: &str) -> i64 {
        self.instances_seeded.insert(courseid);
        let id = self.enrol_instances.keys().max().map_or(1, |m| m + 1);
        self.enrol_instances.insert(
            id,
            EnrolInstance {
                id,
                courseid,
                enrol: enrol.to_string(),
                name: String::new(),
                enabled: true,
                roleid: role::STUDENT,
            },
        );
        id
    }

    /// Enables or disables an instance (its enrolments stay).
    pub fn set_instance_enabled(&mut self, instanceid: i64, enabled: bool) {
        if let Some(i) = self.enrol_instances.get_mut(&instanceid) {
            i.enabled = enabled;
        }
    }

    /// Deletes an instance with its enrolments, as `enrol_plugin::
    /// delete_instance` does (each user unenrolled first).
    pub fn remove_instance(&mut self, instanceid: i64) {
        let users: Vec<i64> = self
            .enrolments
            .values()
            .chain(self.other_enrolments.values())
            .filter(|e| e.instanceid == instanceid)
            .map(|e| e.userid)
            .collect();
        for userid in users {
            self.unenrol_instance(instanceid, userid);
        }
        self.enrol_instances.remove(&instanceid);
    }

    /// Removes the course's manual instance (and its enrolments).
    pub fn remove_manual_instance(&mut self, courseid: i64) {
        self.seed_instances();
        if let Some(id) = self.manual_instance(courseid).map(|i| i.id) {
            self.remove_instance(id);
        }
    }

    /// The course's instances in `enrol_get_instances` order (sortorder,
    /// then id; the simulator's sortorder is the id).
    pub fn instances(&self, courseid: i64) -> Vec<&EnrolInstance> {
        self.enrol_instances
            .values()
            .filter(|i| i.courseid == courseid)
            .collect()
    }

    /// The course's first manual instance, enabled or not.
    pub fn manual_instance(&self, courseid: i64) -> Option<&EnrolInstance> {
        self.instances(courseid).into_iter().find(|i| i.enrol == "manual")
    }

    /// The course's first instance of plugin `enrol`.
    pub fn instance_of(&self, courseid: i64, enrol: &str) -> Option<&EnrolInstance> {
        self.instances(courseid).into_iter().find(|i| i.enrol == enrol)
    }

    /// Enrols a user through the course's instance of `method` (made,
    /// enabled, if the course has none) with a role (0: none). For
    /// `manual` this is [`SiteState::enrol`]; other methods assign the role
    /// with their component (`enrol_cohort`…) unless the plugin's roles are
    /// not protected (self, guest). Returns the instance id.
    pub fn enrol_by(&mut self, courseid: i64, userid: i64, roleid: i64, method: &str) -> i64 {
        self.seed_instances();
        if method == "manual" {
            let e = self.enrol_manual(courseid, userid);
            if roleid != 0 {
                e.roles.insert(roleid);
            }
            return e.instanceid;
        }
        let instance = match self.instance_of(courseid, method) {
            Some(i) => i.clone(),
            None => {
                let id = self.add_instance(courseid, method);
                self.enrol_instances[&id].clone()
            }
        };
        let entry = self
            .other_enrolments
            .entry((instance.id, userid))
            .or_insert_with(|| Enrolment {
                courseid,
                userid,
                instanceid: instance.id,
                roles: BTreeSet::new(),
                timestart: 0,
                timeend: 0,
                suspended: false,
            });
        if roleid != 0 && !instance.role_component().is_empty() {
            entry.roles.insert(roleid);
        } else if roleid != 0 {
            self.assign_role(courseid, userid, roleid);
        }
        instance.id
    }

    /// Suspends (or reactivates) the user's enrolment in the course by
    /// `method`; false when there is none.
    pub fn suspend_enrolment(&mut self, courseid: i64, userid: i64, method: &str, suspended: bool) -> bool {
        match self.enrolment_by_mut(courseid, userid, method) {
            Some(e) => {
                e.suspended = suspended;
                true
            }
            None => false,
        }
    }

    /// The user's enrolment in the course through the first instance of
    /// `method`.
    pub fn enrolment_by(&self, courseid: i64, userid: i64, method: &str) -> Option<&Enrolment> {
        if method == "manual" {
            return self.enrolment(courseid, userid);
        }
        let id = self.instance_of(courseid, method)?.id;
        self.other_enrolments.get(&(id, userid))
    }

    pub fn enrolment_by_mut(&mut self, courseid: i64, userid: i64, method: &str) -> Option<&mut Enrolment> {
        if method == "manual" {
            return self.enrolments.get_mut(&(courseid, userid));
        }
        let id = self.instance_of(courseid, method)?.id;
        self.other_enrolments.get_mut(&(id, userid))
    }

    /// Every enrolment of the user in the course, any method, in instance
    /// order.
    pub fn enrolments_in(&self, courseid: i64, userid: i64) -> Vec<&Enrolment> {
        let mut all: Vec<&Enrolment> = self
            .enrolment(courseid, userid)
            .into_iter()
            .chain(
                self.other_enrolments
                    .values()
                    .filter(|e| e.courseid == courseid && e.userid == userid),
            )
            .collect();
        all.sort_by_key(|e| e.instanceid);
        all
    }

    /// The user is enrolled in the course by any method (active or not).
    pub fn is_enrolled(&self, courseid: i64, userid: i64) -> bool {
        !self.enrolments_in(courseid, userid).is_empty()
    }

    /// The user has an enrolment that counts as active now
    /// (`get_enrolled_sql` with onlyactive: user enrolment active, instance
    /// enabled, within its dates).
    pub fn is_active(&self, courseid: i64, userid: i64, now: i64) -> bool {
        self.enrolments_in(courseid, userid)
            .into_iter()
            .any(|e| self.enrolment_active(e, now))
    }

    /// The user's role assignments in the course context, by role then
    /// component.
    pub fn role_assignments(&self, courseid: i64, userid: i64) -> Vec<RoleAssignment> {
        let mut all = Vec::new();
        let plain = self
            .enrolment(courseid, userid)
            .map(|e| &e.roles)
            .or_else(|| self.loose_roles.get(&(courseid, userid)));
        for r in plain.into_iter().flatten() {
            all.push(RoleAssignment {
                roleid: *r,
                component: String::new(),
                itemid: 0,
            });
        }
        for e in self
            .other_enrolments
            .values()
            .filter(|e| e.courseid == courseid && e.userid == userid)
        {
            let component = self
                .enrol_instances
                .get(&e.instanceid)
                .map(EnrolInstance::role_component)
                .unwrap_or_default();
            for r in &e.roles {
                all.push(RoleAssignment {
                    roleid: *r,
                    component: component.clone(),
                    itemid: e.instanceid,
                });
            }
        }
        all.sort();
        all
    }

    /// The ids of the user's roles in the course, any component.
    pub fn roles_in(&self, courseid: i64, userid: i64) -> BTreeSet<i64> {
        self.role_assignments(courseid, userid)
            .into_iter()
            .map(|a| a.roleid)
            .collect()
    }

    /// `role_assign($roleid, $userid, $coursecontext)`: a role without
    /// component (kept once).
    pub fn assign_role(&mut self, courseid: i64, userid: i64, roleid: i64) {
        match self.enrolments.get_mut(&(courseid, userid)) {
            Some(e) => e.roles.insert(roleid),
            None => self
                .loose_roles
                .entry((courseid, userid))
                .or_default()
                .insert(roleid),
        };
    }

    /// `role_unassign($roleid, $userid, $coursecontext)`: only the
    /// assignment without component goes.
    pub fn unassign_role(&mut self, courseid: i64, userid: i64, roleid: i64) -> bool {
        match self.enrolments.get_mut(&(courseid, userid)) {
            Some(e) => e.roles.remove(&roleid),
            None => {
                let Some(set) = self.loose_roles.get_mut(&(courseid, userid)) else {
                    return false;
                };
                let removed = set.remove(&roleid);
                if set.is_empty() {
                    self.loose_roles.remove(&(courseid, userid));
                }
                removed
            }
        }
    }

    /// `enrol_plugin::unenrol_user` (lib/enrollib.php): the enrolment and
    /// the roles of the instance's component go; roles without component
    /// stay while another method keeps the user enrolled, and with the last
    /// enrolment every course role, group membership, grade and last
    /// access goes. Not enrolled: nothing happens. True if something was
    /// removed.
    pub fn unenrol_instance(&mut self, instanceid: i64, userid: i64) -> bool {
        let Some(instance) = self.enrol_instances.get(&instanceid).cloned() else {
            return false;
        };
        let courseid = instance.courseid;
        if instance.enrol == "manual" {
            match self.enrolments.get(&(courseid, userid)) {
                Some(e) if e.instanceid == instanceid => {}
                _ => return false,
            }
            let removed = self.enrolments.remove(&(courseid, userid)).expect("checked");
            if !removed.roles.is_empty() {
                self.loose_roles.insert((courseid, userid), removed.roles);
            }
        } else if self.other_enrolments.remove(&(instanceid, userid)).is_none() {
            return false;
        }
        if !self.is_enrolled(courseid, userid) {
            self.loose_roles.remove(&(courseid, userid));
            for group in self.groups.values_mut().filter(|g| g.courseid == courseid) {
                group.members.remove(&userid);
            }
            let items: BTreeSet<i64> = self
                .grade_items
                .values()
                .filter(|i| i.courseid == courseid)
                .map(|i| i.id)
                .collect();
            self.grades
                .retain(|(item, u), _| !(*u == userid && items.contains(item)));
            self.lastcourseaccess.remove(&(courseid, userid));
        }
        true
    }

    /// What `delete_user` (lib/moodlelib.php) removes besides marking the
    /// row: every enrolment (`enrol_user_delete`), every role assignment,
    /// group memberships and grades.
    pub fn remove_user_data(&mut self, userid: i64) {
        self.enrolments.retain(|_, e| e.userid != userid);
        self.other_enrolments.retain(|_, e| e.userid != userid);
        self.loose_roles.retain(|(_, u), _| *u != userid);
        for group in self.groups.values_mut() {
            group.members.remove(&userid);
        }
        for cohort in self.cohorts.values_mut() {
            cohort.members.remove(&userid);
        }
        self.grades.retain(|(_, u), _| *u != userid);
        self.lastcourseaccess.retain(|(_, u), _| *u != userid);
    }

    /// `delete_course` (course/lib.php): the course with its instances,
    /// enrolments, roles, groups and grades.
    pub fn remove_course(&mut self, courseid: i64) {
        self.courses.remove(&courseid);
        self.enrolments.retain(|_, e| e.courseid != courseid);
        self.other_enrolments.retain(|_, e| e.courseid != courseid);
        self.loose_roles.retain(|(c, _), _| *c != courseid);
        self.enrol_instances.retain(|_, i| i.courseid != courseid);
        self.groups.retain(|_, g| g.courseid != courseid);
        self.modules.retain(|_, m| m.courseid != courseid);
        let items: BTreeSet<i64> = self
            .grade_items
            .values()
            .filter(|i| i.courseid == courseid)
            .map(|i| i.id)
            .collect();
        self.grade_items.retain(|id, _| !items.contains(id));
        self.grades.retain(|(item, _), _| !items.contains(item));
        self.lastcourseaccess.retain(|(c, _), _| *c != courseid);
    }

    /// The id of a course's context.
    pub fn course_contextid(courseid: i64) -> i64 {
        COURSE_CONTEXT_BASE + courseid
    }

    /// Adds a group to a course; returns its id.
    pub fn add_group(&mut self, courseid: i64, name: &str) -> i64 {
        let id = self.groups.keys().max().map_or(1, |m| m + 1);
        self.groups.insert(
            id,
            Group {
                id,
                courseid,
                name: name.to_string(),
                description: String::new(),
                members: BTreeSet::new(),
                descriptionformat: 1,
                enrolmentkey: String::new(),
                idnumber: String::new(),
                visibility: 0,
                participation: true,
                plugin_members: BTreeSet::new(),
            },
        );
        id
    }

    pub fn add_to_group(&mut self, groupid: i64, userid: i64) {
        if let Some(group) = self.groups.get_mut(&groupid) {
            group.members.insert(userid);
        }
    }

    /// Adds a cohort; returns its id.
    pub fn add_cohort(&mut self, cohort: Cohort) -> i64 {
        let id = cohort.id;
        self.cohorts.insert(id, cohort);
        id
    }

    /// Adds a course module (its id is the cmid).
    pub fn add_module(&mut self, module: Module) -> i64 {
        let id = module.id;
        self.modules.insert(id, module);
        id
    }

    /// Adds a completion criterion to a course; returns its id.
    pub fn add_criterion(&mut self, courseid: i64, criteriatype: i64, moduleinstance: Option<i64>) -> i64 {
        let id = self.completion_criteria.iter().map(|c| c.id).max().unwrap_or(0) + 1;
        self.completion_criteria.push(CompletionCriterion {
            id,
            courseid,
            criteriatype,
            moduleinstance,
        });
        id
    }

    /// The user met the criterion at `time`.
    pub fn complete_criterion(&mut self, criterionid: i64, userid: i64, time: i64) {
        self.criteria_completions.insert((criterionid, userid), time);
    }

    /// The id of the conversation between two users (made if missing):
    /// one per pair, whichever sent first.
    pub fn conversation(&self, a: i64, b: i64) -> i64 {
        let (low, high) = (a.min(b), a.max(b));
        self.messages
            .iter()
            .find(|m| (m.useridfrom.min(m.useridto), m.useridfrom.max(m.useridto)) == (low, high))
            .map_or_else(
                || self.messages.iter().map(|m| m.conversationid).max().unwrap_or(0) + 1,
                |m| m.conversationid,
            )
    }

    /// The id of the course's course-total grade item, created if the
    /// course has none yet.
    pub fn course_total_item(&mut self, courseid: i64) -> i64 {
        if let Some(item) = self
            .grade_items
            .values()
            .find(|i| i.courseid == courseid && i.is_course_total())
        {
            return item.id;
        }
        let id = self.take_grade_item_id();
        self.grade_items.insert(id, GradeItem::course_total(id, courseid));
        id
    }

    /// Adds a grade item (its id and course are overwritten: a fresh id,
    /// after the course total); returns its id.
    pub fn add_grade_item(&mut self, courseid: i64, item: GradeItem) -> i64 {
        self.course_total_item(courseid);
        let id = self.take_grade_item_id();
        self.grade_items.insert(
            id,
            GradeItem {
                id,
                courseid,
                sortorder: id,
                ..item
            },
        );
        id
    }

    /// Grades a user: `Some(name)` for the manual item of that name (made,
    /// 0–100, if the course has none), `None` for the course total itself
    /// (an overridden total). Returns the grade item's id.
    pub fn set_grade(&mut self, courseid: i64, userid: i64, item: Option<&str>, value: f64) -> i64 {
        let itemid = match item {
            None => self.course_total_item(courseid),
            Some(name) => match self
                .grade_items
                .values()
                .find(|i| i.courseid == courseid && i.itemname.as_deref() == Some(name))
            {
                Some(found) => found.id,
                None => self.add_grade_item(courseid, GradeItem::new(0, courseid, name)),
            },
        };
        let grade = Grade {
            overridden: item.is_none(),
            ..Grade::new(value)
        };
        self.grades.insert((itemid, userid), grade);
        itemid
    }

    fn take_grade_item_id(&mut self) -> i64 {
        let id = self
            .next_grade_item_id
            .max(self.grade_items.keys().max().map_or(1, |m| m + 1));
        self.next_grade_item_id = id + 1;
        id
    }

    /// `/1/4` for category 4 under 1.
    pub fn category_path(&self, id: i64) -> String {
        let mut chain = vec![id];
        let mut current = id;
        while let Some(parent) = self
            .categories
            .get(&current)
            .map(|c| c.parent)
            .filter(|p| *p != 0)
        {
            if chain.contains(&parent) {
                break;
            }
            chain.push(parent);
            current = parent;
        }
        chain.iter().rev().map(|c| format!("/{c}")).collect()
    }

    pub fn category_depth(&self, id: i64) -> i64 {
        self.category_path(id).matches('/').count() as i64
    }

    /// The sortorder Moodle keeps for a category: categories numbered in
    /// tree order (siblings by `Category::sortorder`, then id), times
    /// MAX_COURSES_IN_CATEGORY (10000).
    pub fn category_sortorder(&self, id: i64) -> i64 {
        fn walk(state: &SiteState, parent: i64, out: &mut Vec<i64>) {
            let mut children: Vec<&Category> =
                state.categories.values().filter(|c| c.parent == parent).collect();
            children.sort_by_key(|c| (c.sortorder, c.id));
            for child in children {
                if !out.contains(&child.id) {
                    out.push(child.id);
                    walk(state, child.id, out);
                }
            }
        }
        let mut order = Vec::new();
        walk(self, 0, &mut order);
        order
            .iter()
            .position(|c| *c == id)
            .map_or(0, |p| (p as i64 + 1) * 10000)
    }

    /// An enrolment that counts as active now: its instance enabled, not
    /// suspended, started and not ended (`get_enrolled_join` with
    /// onlyactive, lib/enrollib.php).
    pub fn enrolment_active(&self, e: &Enrolment, now: i64) -> bool {
        let enabled = self.enrol_instances.get(&e.instanceid).is_none_or(|i| i.enabled);
        enabled && !e.suspended && e.timestart <= now && (e.timeend == 0 || e.timeend > now)
    }
}
