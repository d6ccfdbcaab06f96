//! A Moodle 4.5 site over HTTP for integration tests: the REST server
//! (`/webservice/rest/server.php`) and `/login/token.php`, answering the way
//! a real site does per shared/moodle-ws.md, plus fault injection.
//!
//! ```ignore
//! use crate::simulator::{Simulator, SiteConfig, TOKEN};
//!
//! let sim = Simulator::start(SiteConfig::default());
//! // POST form pairs with wstoken=TOKEN to
//! // format!("{}/webservice/rest/server.php", sim.url()), then:
//! assert!(sim.state().user_by_username("jdoe").is_some());
//! assert_eq!(sim.calls().len(), 1);
//! ```
//!
//! The integration test binary (tests/it/main.rs) compiles it once for all
//! its modules; benches/runner.rs includes it too (`#[path]`) and uses only
//! part of it.
#![allow(dead_code)]

pub mod config;
pub mod faults;
pub mod functions;
pub mod login;
pub mod params;
pub mod php_input;
pub mod raw;
pub mod response;
pub mod server;
pub mod state;
pub mod ws;

use std::net::TcpListener;
use std::thread::JoinHandle;

// Re-exported for the tests and the runner bench; the bench uses a part.
#[allow(unused_imports)]
pub use config::{Service, SiteConfig, Token, ADMIN_PASSWORD, SERVICE, TOKEN};
#[allow(unused_imports)]
pub use faults::{Fault, Faults};
#[allow(unused_imports)]
pub use state::{
    role, Category, Cohort, CompletionCriterion, Course, EnrolInstance, Enrolment, Grade, GradeItem, Group,
    ManualEnrol, Message, Module, Note, ProfileField, RoleAssignment, SiteState, User,
};

use faults::FaultState;
use server::Shared;
use ws::Site;

/// One server.php call as the simulator saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// 1-based, in arrival order (what `Faults::fail_calls` refers to).
    pub seq: usize,
    /// `wsfunction` as sent.
    pub function: Option<String>,
    /// Form pairs received in query string and body, counted as PHP counts
    /// them for `max_input_vars`.
    pub pairs: usize,
    /// Pairs PHP silently dropped past `max_input_vars` (4.3).
    pub dropped_pairs: usize,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Moodle answered with a success body; a write was committed.
    Applied,
    /// Moodle answered with an error object (or, with REST disabled, an
    /// empty body: then `exception` is empty). `committed` is true when the
    /// call changed the site anyway (update_users' invalid response, 2.2).
    Rejected {
        exception: String,
        errorcode: Option<String>,
        committed: bool,
    },
    /// A fault was injected; `applied` says whether the call's effects were
    /// committed before it (drop-after-apply, slow).
    Faulted { fault: Fault, applied: bool },
}

/// A running simulated site; dropping it stops the server.
pub struct Simulator {
    url: String,
    shared: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Starts the site on 127.0.0.1 at a free port; returns once it listens.
    pub fn start(config: SiteConfig) -> Simulator {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let mut state = SiteState::new(&config.categories, &config.courses, &config.users);
        state.profile_fields = config.profile_fields.clone();
        let shared = Shared::new(std::sync::Mutex::new(Site {
            state,
            tokens: config.tokens.clone(),
            faults: FaultState::new(config.faults.clone()),
            calls: Vec::new(),
            url: url.clone(),
            config,
        }));
        let (shutdown, stop) = tokio::sync::oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let served = shared.clone();
        let thread = std::thread::Builder::new()
            .name("moodle-simulator".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                runtime.block_on(async move {
                    let serving = server::serve(listener, served, stop);
                    ready_tx.send(()).expect("signal ready");
                    serving.await;
                });
            })
            .expect("spawn simulator thread");
        ready_rx.recv().expect("simulator started");
        Simulator {
            url,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, the site's wwwroot.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A copy of the site's data for assertions.
    pub fn state(&self) -> SiteState {
        server::lock(&self.shared).state.clone()
    }

    /// Changes the site's data between calls (e.g. a user created by hand).
    pub fn with_state<R>(&self, change: impl FnOnce(&mut SiteState) -> R) -> R {
        change(&mut server::lock(&self.shared).state)
    }

    /// Replaces the fault plan; its generator restarts from its seed.
    pub fn set_faults(&self, faults: Faults) {
        server::lock(&self.shared).faults = FaultState::new(faults);
    }

    /// Every server.php call so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        server::lock(&self.shared).calls.clone()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
