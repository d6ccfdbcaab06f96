//! The run loop: read, validate, batch, hand batches to tasks, a few at a time.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::apply::{self, Work};
use super::ctx::{Ctx, Parts};
use super::ledger::{Resume, SharedLedger, Unfinished};
use super::outcome::{KeyFields, RecordResult, Status};
use super::{Reporter, Settings, Stop, StopKind, Summary};
use crate::moodle::ws::CONTROL_FIELDS;
use crate::params::ParamValues;
use crate::plan::Batcher;
use crate::record::{ReadError, SourceRecord};
use crate::site::webhook::Webhook;
use crate::site::{MoodleError, Session};
use crate::template::{AppliedCheck, WriteTemplate};
use crate::validate::keys::Resolutions;
use crate::validate::{ValidRecord, ValidateOptions, Validator, Violation};

/// Everything a run needs besides its input.
pub struct Runner {
    /// The template (a write template: only those are run).
    pub template: WriteTemplate,
    /// The session with the site.
    pub session: Arc<Session>,
    /// How to tell whether a record was applied after an unclear outcome, as
    /// the preflight found it usable.
    pub applied: AppliedCheck,
    /// How the run behaves.
    pub settings: Settings,
    /// Where results go: shared, so that several runs (the steps of a sync's
    /// apply) write one results file and one journal.
    pub ledger: SharedLedger,
    /// Where answers are posted, if anywhere.
    pub webhook: Option<Webhook>,
    /// Progress and warnings.
    pub reporter: Arc<dyn Reporter>,
    /// The ids of the template's lookups, resolved before the run.
    pub lookups: Option<Arc<Resolutions>>,
}

impl Runner {
    /// Send the valid records of `records`, skipping those `resume` says are
    /// done and resolving those it says are ambiguous first.
    pub async fn run(
        self,
        records: impl IntoIterator<Item = Result<SourceRecord, ReadError>>,
        params: ParamValues,
        options: ValidateOptions,
        resume: Resume,
    ) -> Summary {
        let started = Instant::now();
        let lookups = self.lookups;
        let ctx = Arc::new(Ctx::new(Parts {
            template: self.template,
            session: self.session,
            applied: self.applied,
            settings: self.settings,
            reporter: self.reporter,
            ledger: self.ledger,
            webhook: self.webhook,
        }));
        let interrupts = ctx
            .settings
            .handle_interrupt
            .then(|| tokio::spawn(watch_interrupts(ctx.clone())));
        let template = ctx.template.clone();
        let mut dispatcher = Dispatcher {
            ctx: ctx.clone(),
            permits: Arc::new(Semaphore::new(ctx.settings.concurrency.max(1))),
            tasks: JoinSet::new(),
        };
        let mut pass = Pass {
            keys: KeyFields::of(&template),
            validator: Validator::new(&template, params, options).with_lookups(lookups),
            batcher: Batcher::new(&template),
            held: Held::new(resume.unfinished),
            done: resume.done,
            tested: false,
        };
        for item in records {
            pass.next(item, &mut dispatcher).await;
        }
        for batch in pass.batcher.finish() {
            dispatcher.send(Work::Send(batch.records)).await;
        }
        for work in pass.held.rest() {
            dispatcher.send(work).await;
        }
        dispatcher.wait().await;
        if let Some(watch) = interrupts {
            watch.abort();
        }
        ctx.finish_webhooks().await;
        ctx.summary(started.elapsed(), pass.done.len() as u64)
    }
}

/// The tasks in flight and the permits that bound them.
struct Dispatcher {
    ctx: Arc<Ctx>,
    permits: Arc<Semaphore>,
    tasks: JoinSet<()>,
}

impl Dispatcher {
    /// Start `work` as soon as a permit is free.
    async fn send(&mut self, work: Work) {
        let permit = self.permits.clone().acquire_owned().await;
        let ctx = self.ctx.clone();
        self.tasks.spawn(async move {
            apply::work(&ctx, work).await;
            drop(permit);
        });
        // Let the tasks run (send, settle) before reading on.
        tokio::task::yield_now().await;
        while let Some(joined) = self.tasks.try_join_next() {
            propagate(joined);
        }
    }

    async fn wait(&mut self) {
        while let Some(joined) = self.tasks.join_next().await {
            propagate(joined);
        }
    }
}

fn propagate(joined: Result<(), tokio::task::JoinError>) {
    if let Err(error) = joined {
        if error.is_panic() {
            std::panic::resume_unwind(error.into_panic());
        }
    }
}

/// The state of the streaming pass over the input.
struct Pass<'t> {
    /// What identifies a record in its result.
    keys: KeyFields,
    validator: Validator<'t>,
    batcher: Batcher,
    held: Held,
    done: super::ledger::RecordSet,
    tested: bool,
}

impl Pass<'_> {
    async fn next(&mut self, item: Result<SourceRecord, ReadError>, dispatcher: &mut Dispatcher) {
        let ctx = dispatcher.ctx.clone();
        let record = match item {
            Ok(record) => record,
            Err(error) => {
                // Record 0 is a CSV header row: not a record, no result of its own.
                if error.number > 0 && !self.done.contains(error.number) {
                    ctx.settle(vec![unreadable(&error).at_line(error.line)]);
                }
                return;
            }
        };
        let valid = match self.validator.validate(&record).outcome {
            Ok(valid) => valid,
            Err(violations) => {
                if !self.done.contains(record.number) {
                    ctx.settle(vec![
                        invalid(record.number, &violations).about_source(&self.keys, &record)
                    ]);
                }
                return;
            }
        };
        let fields = valid.form_fields() + CONTROL_FIELDS;
        if fields > ctx.template.batch.max_input_vars {
            if !self.done.contains(valid.number) {
                ctx.settle(vec![too_large(
                    valid.number,
                    fields,
                    ctx.template.batch.max_input_vars,
                )
                .about(&self.keys, &valid)]);
            }
            return;
        }
        if self.done.contains(valid.number) {
            return;
        }
        // Skipped records of an earlier run's unfinished request stay
        // unfinished in the journal: the next resume resolves them.
        if let Some(reason) = self.skip_reason(&ctx) {
            ctx.settle(vec![RecordResult::with_error(
                valid.number,
                Status::Skipped,
                reason,
            )
            .about(&self.keys, &valid)]);
            return;
        }
        let valid = match self.held.hold(valid) {
            Hold::Complete(work) => return dispatcher.send(work).await,
            Hold::Waiting => return,
            Hold::NotHeld(valid) => valid,
        };
        if ctx.settings.test {
            self.tested = true;
            return dispatcher.send(Work::Send(vec![valid])).await;
        }
        let (number, line) = (valid.number, valid.line);
        match self.batcher.push(valid) {
            Ok(batches) => {
                for batch in batches {
                    dispatcher.send(Work::Send(batch.records)).await;
                }
            }
            // Checked above with the same budget, so not expected here.
            Err(large) => ctx.settle(vec![
                too_large(number, large.form_fields, large.limit).at_line(line)
            ]),
        }
    }

    /// Why a valid record is not sent, if it is not.
    fn skip_reason(&self, ctx: &Ctx) -> Option<MoodleError> {
        if let Some(stop) = ctx.stopped() {
            return Some(stop.as_error());
        }
        if !ctx.settings.send {
            return Some(MoodleError::local(
                "not_sent",
                "not sent: the input has invalid records (fix them, or pass --skip-invalid to send the valid ones)",
            ));
        }
        if ctx.settings.test && self.tested {
            return Some(MoodleError::local(
                "not_sent",
                "not sent: --test sends only the first valid record",
            ));
        }
        None
    }
}

fn unreadable(error: &ReadError) -> RecordResult {
    RecordResult::with_error(
        error.number,
        Status::Invalid,
        MoodleError::local("unreadable", error.message.clone()),
    )
}

fn invalid(number: u64, violations: &[Violation]) -> RecordResult {
    let code = violations.first().map_or("invalid", |v| v.code.as_str());
    let message: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
    RecordResult::with_error(
        number,
        Status::Invalid,
        MoodleError::local(code, message.join("; ")),
    )
}

fn too_large(number: u64, fields: usize, limit: usize) -> RecordResult {
    RecordResult::with_error(
        number,
        Status::Invalid,
        MoodleError::local(
            "too_large",
            format!("the record needs {fields} form fields, more than max_input_vars {limit} allows in one request"),
        ),
    )
}

/// Records of earlier runs' unfinished requests, gathered as the pass meets
/// them so that each request is resolved with all its records at once.
struct Held {
    /// Request → its records met so far, and how many it has.
    requests: HashMap<u64, (Vec<ValidRecord>, usize)>,
    /// Record → its request.
    owner: HashMap<u64, u64>,
}

enum Hold {
    Complete(Work),
    Waiting,
    NotHeld(ValidRecord),
}

impl Held {
    fn new(unfinished: Vec<Unfinished>) -> Self {
        let mut requests = HashMap::new();
        let mut owner = HashMap::new();
        for u in unfinished {
            for &record in &u.records {
                owner.insert(record, u.request);
            }
            requests.insert(u.request, (Vec::new(), u.records.len()));
        }
        Held { requests, owner }
    }

    fn hold(&mut self, record: ValidRecord) -> Hold {
        let Some(&request) = self.owner.get(&record.number) else {
            return Hold::NotHeld(record);
        };
        let Some((records, expected)) = self.requests.get_mut(&request) else {
            return Hold::NotHeld(record);
        };
        records.push(record);
        if records.len() < *expected {
            return Hold::Waiting;
        }
        let (records, _) = self.requests.remove(&request).unwrap_or_default();
        Hold::Complete(resolve(request, records))
    }

    /// The requests whose records did not all come back valid: resolved with those that did.
    fn rest(self) -> Vec<Work> {
        let mut rest: Vec<(u64, Vec<ValidRecord>)> = self
            .requests
            .into_iter()
            .map(|(id, (records, _))| (id, records))
            .collect();
        rest.sort_by_key(|(id, _)| *id);
        rest.into_iter()
            .map(|(id, records)| resolve(id, records))
            .collect()
    }
}

fn resolve(request: u64, records: Vec<ValidRecord>) -> Work {
    Work::Resolve {
        request,
        records,
        reason: "an earlier run stopped while this request was in flight".to_owned(),
    }
}

/// Ctrl-C stops the run cleanly: requests in flight finish, the rest is
/// skipped. (What a second Ctrl-C does is the caller's business.)
async fn watch_interrupts(ctx: Arc<Ctx>) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    ctx.stop(Stop {
        kind: StopKind::Interrupted,
        message: "interrupted".to_owned(),
        help: "continue with --resume".to_owned(),
    });
    ctx.reporter.warning(
        "interrupted: finishing the requests in flight (Ctrl-C again to quit at once; --resume continues)",
    );
}
