//! One batch, from request to results: splitting on rollback, resolving unclear outcomes.
//!
//! A batch is worked off a stack of items, so that the halves of a failed
//! batch (and the re-sends after an unclear outcome) are plain items rather
//! than recursive futures. Each item is one request.

use super::applied::{self, LookupError};
use super::ctx::{span, Ctx};
use super::outcome::{identify, misfit, results_of_success, scrub_answer, KeyFields, RecordResult, Status};
use super::{Stop, StopKind};
use crate::moodle::ws::{CONTROL_FIELDS, REFUSAL_CODES, ROLLBACK_FUNCTIONS};
use crate::plan::Batch;
use crate::render::preview::{preview, PreviewFormat};
use crate::render::records_body;
use crate::site::preflight;
use crate::site::webhook::Answer;
use crate::site::{CallError, MoodleError, Reply};
use crate::template::AppliedCheck;
use crate::validate::ValidRecord;

/// What a task is given.
pub(super) enum Work {
    /// A batch to send.
    Send(Vec<ValidRecord>),
    /// The records of an earlier run's unfinished request (journal id).
    Resolve {
        request: u64,
        records: Vec<ValidRecord>,
        reason: String,
    },
}

/// One step of a batch's work.
enum Item {
    /// Send these records in one request; `resends` counts re-sends after unclear outcomes.
    Send { records: Vec<ValidRecord>, resends: u32 },
    /// Journal request `request` got no clear answer: find out what became of its records.
    Resolve {
        request: u64,
        records: Vec<ValidRecord>,
        resends: u32,
        reason: String,
    },
}

/// Do `work` to the end: every record gets its result.
pub(super) async fn work(ctx: &Ctx, work: Work) {
    let mut stack = vec![match work {
        Work::Send(records) => Item::Send { records, resends: 0 },
        Work::Resolve {
            request,
            records,
            reason,
        } => Item::Resolve {
            request,
            records,
            resends: 0,
            reason,
        },
    }];
    while let Some(item) = stack.pop() {
        match item {
            Item::Send { records, resends } => send(ctx, records, resends, &mut stack).await,
            Item::Resolve {
                request,
                records,
                resends,
                reason,
            } => resolve(ctx, request, records, resends, &reason, &mut stack).await,
        }
    }
}

fn numbers(records: &[ValidRecord]) -> Vec<u64> {
    records.iter().map(|r| r.number).collect()
}

/// Settle `results`, the results of `records`, each with its record's line and key.
fn settle(ctx: &Ctx, records: &[ValidRecord], mut results: Vec<RecordResult>) {
    identify(&ctx.template, records, &mut results);
    ctx.settle(results);
}

fn settle_all(ctx: &Ctx, records: &[ValidRecord], status: Status, error: &MoodleError) {
    let results = records
        .iter()
        .map(|r| RecordResult::with_error(r.number, status, error.clone()))
        .collect();
    settle(ctx, records, results);
}

/// Push the halves of `records`, first half on top.
fn split(mut records: Vec<ValidRecord>, resends: u32, stack: &mut Vec<Item>) {
    let second = records.split_off(records.len() / 2);
    stack.push(Item::Send {
        records: second,
        resends,
    });
    stack.push(Item::Send { records, resends });
}

/// Whether a failed call may be split and its parts sent again: nothing of
/// it was applied (one transaction), or sending again is harmless.
fn may_split(ctx: &Ctx) -> bool {
    ROLLBACK_FUNCTIONS.contains(&ctx.template.function.as_str()) || ctx.applied == AppliedCheck::Idempotent
}

async fn send(ctx: &Ctx, records: Vec<ValidRecord>, resends: u32, stack: &mut Vec<Item>) {
    if let Some(stop) = ctx.stopped() {
        return settle_all(ctx, &records, Status::Skipped, &stop.as_error());
    }
    let numbers = numbers(&records);
    let form_fields = records.iter().map(ValidRecord::form_fields).sum::<usize>() + CONTROL_FIELDS;
    let batch = Batch {
        number: 0,
        records,
        form_fields,
    };
    let fields = records_body(&ctx.template, &batch);
    // Journaled when it may leave, not while it waits for its turn: a crash
    // in between would otherwise count it as in flight.
    let mut request = None;
    let sent = ctx
        .session
        .send_started(&ctx.template.function, &fields, || {
            request = ctx.journal_start(&numbers);
            request.is_some()
        })
        .await;
    let (Some(mut answer), Some(request)) = (sent, request) else {
        let stop = ctx.stopped().map(|s| s.as_error());
        let error = stop.unwrap_or_else(|| MoodleError::local("not_sent", "not sent"));
        return settle_all(ctx, &batch.records, Status::Skipped, &error);
    };
    scrub_answer(&ctx.template, &batch.records, &mut answer);
    if ctx.settings.test {
        show_exchange(ctx, &batch, &answer);
    }
    let records = batch.records;
    match answer {
        Ok(Reply::Value(value)) if misfit(&ctx.template, records.len(), &value).is_some() => {
            // HTTP 200 but not Moodle's answer (a proxy, a WAF): no proof of
            // anything. The applied check decides, as after a lost answer.
            let why = misfit(&ctx.template, records.len(), &value).unwrap_or_default();
            stack.push(Item::Resolve {
                request,
                records,
                resends,
                reason: format!("the answer does not fit the template's `returns`: {why}"),
            });
        }
        Ok(Reply::Value(value)) => {
            let (results, stray) = results_of_success(&ctx.template, &records, &value);
            settle(ctx, &records, results);
            ctx.journal_finish(request);
            for warning in stray {
                ctx.reporter.warning(&format!(
                    "Moodle's answer for records {} has a warning that names none of them: {}",
                    span(&numbers),
                    warning.warning
                ));
            }
            ctx.notify(&numbers, Answer::Value(&value)).await;
        }
        Ok(Reply::Error(error)) => {
            ctx.notify(&numbers, Answer::Error(&error)).await;
            if REFUSAL_CODES.contains(&error.code()) {
                let refusal = preflight::refused(&error, &ctx.template.function);
                ctx.stop(Stop {
                    kind: StopKind::Server,
                    message: refusal.message,
                    help: refusal.help,
                });
                settle_all(ctx, &records, Status::Skipped, &error);
            } else if records.len() > 1 && may_split(ctx) {
                // Nothing was applied: find the bad records by halves.
                split(records, resends, stack);
            } else if resends > 0 {
                settle_refused_resend(ctx, records, &error).await;
            } else {
                settle_all(ctx, &records, Status::Failed, &error);
            }
            ctx.journal_finish(request);
        }
        Err(CallError::Status { status: 413, .. }) => {
            if records.len() > 1 {
                split(records, resends, stack);
            } else {
                let error = MoodleError::local(
                    "too_large",
                    "the web server refused the request as too large (HTTP 413): raise its body size limit (e.g. nginx client_max_body_size)",
                );
                settle_all(ctx, &records, Status::Failed, &error);
            }
            ctx.journal_finish(request);
        }
        Err(error) if error.is_ambiguous() || matches!(error, CallError::NotJson(_)) => {
            stack.push(Item::Resolve {
                request,
                records,
                resends,
                reason: error.to_string(),
            });
        }
        Err(error) => {
            // Certainly not applied, and retrying did not help: the site is down or refusing.
            let refusal = preflight::unreachable(&error, ctx.session.site());
            ctx.stop(Stop {
                kind: StopKind::Server,
                message: refusal.message,
                help: refusal.help,
            });
            settle_all(
                ctx,
                &records,
                Status::Skipped,
                &MoodleError::local("not_sent", format!("not sent: {error}")),
            );
            ctx.journal_finish(request);
        }
    }
}

/// Moodle refused records that were re-sent after an unclear outcome.
///
/// With a lookup, the refusal may be the first request catching up: Moodle
/// was still working on it when the lookup found nothing, and the re-send
/// now collides with what it created ("Username already exists"). Records
/// found now were applied by that first request.
async fn settle_refused_resend(ctx: &Ctx, records: Vec<ValidRecord>, error: &MoodleError) {
    let AppliedCheck::Lookup { function, field } = ctx.applied.clone() else {
        return settle_all(ctx, &records, Status::Failed, error);
    };
    let found = applied::find(ctx, &function, &field, &records)
        .await
        .unwrap_or_default();
    let results = records
        .iter()
        .map(|r| match found.ids.get(&r.number) {
            Some(&id) => RecordResult::applied(r.number, Some(id)),
            None => RecordResult::with_error(r.number, Status::Failed, error.clone()),
        })
        .collect();
    settle(ctx, &records, results);
}

/// `--test`: the request as `render --format http` shows it, and the answer.
fn show_exchange(ctx: &Ctx, batch: &Batch, answer: &Result<Reply, CallError>) {
    let request = preview(
        &ctx.template,
        batch,
        PreviewFormat::Http,
        ctx.session.site().as_str(),
    );
    let response = match answer {
        Ok(Reply::Value(value)) => serde_json::to_string_pretty(value).unwrap_or_default(),
        Ok(Reply::Error(error)) => serde_json::to_string_pretty(error).unwrap_or_default(),
        Err(error) => format!("(no answer) {error}"),
    };
    ctx.reporter.exchange(&request, &response);
}

/// The error of a record whose outcome stays unknown.
fn unknown_outcome(reason: &str, why: &str) -> MoodleError {
    MoodleError::local(
        "unknown_outcome",
        format!("no clear answer from Moodle after the request was sent ({reason}); {why}: check in Moodle whether the record was applied before sending it again"),
    )
}

async fn resolve(
    ctx: &Ctx,
    request: u64,
    records: Vec<ValidRecord>,
    resends: u32,
    reason: &str,
    stack: &mut Vec<Item>,
) {
    if records.is_empty() {
        return ctx.journal_finish(request);
    }
    if let Some(stop) = ctx.stopped() {
        // Left unfinished in the journal: a resumed run resolves these records.
        return settle_all(ctx, &records, Status::Skipped, &stop.as_error());
    }
    let retries = ctx.retries();
    match ctx.applied.clone() {
        AppliedCheck::Unknown => {
            let why = "the template cannot tell whether it was applied (it needs `exists FUNCTION FIELD` or `idempotent`)";
            settle_all(ctx, &records, Status::Failed, &unknown_outcome(reason, why));
            ctx.journal_finish(request);
        }
        AppliedCheck::Idempotent if resends >= retries => {
            let why = format!("still no clear answer after {} attempts", resends + 1);
            settle_all(ctx, &records, Status::Failed, &unknown_outcome(reason, &why));
            ctx.journal_finish(request);
        }
        AppliedCheck::Idempotent => {
            ctx.pause(resends).await;
            ctx.journal_finish(request);
            stack.push(Item::Send {
                records,
                resends: resends + 1,
            });
        }
        AppliedCheck::Lookup { function, field } => {
            let found = applied::find(ctx, &function, &field, &records).await;
            settle_lookup(ctx, request, records, resends, reason, found, stack);
        }
    }
}

/// Act on what a lookup found.
///
/// For a function that applies a call in one transaction, the records of
/// the call are either all in Moodle or none is: if some are missing, the
/// call was not applied and those found existed before (they fail again,
/// with Moodle's own error, when the call is re-sent). Otherwise found
/// records are applied and the others are re-sent. A record found with
/// other values than its own was there before: for such a function the call
/// was then refused, and re-sending it brings Moodle's own error; otherwise
/// the record fails as already existing.
fn settle_lookup(
    ctx: &Ctx,
    request: u64,
    records: Vec<ValidRecord>,
    resends: u32,
    reason: &str,
    found: Result<applied::Found, LookupError>,
    stack: &mut Vec<Item>,
) {
    let found = match found {
        Ok(found) => found,
        Err(LookupError::Unreachable(error)) => {
            let refusal = preflight::unreachable(&error, ctx.session.site());
            ctx.stop(Stop {
                kind: StopKind::Server,
                message: refusal.message,
                help: refusal.help,
            });
            let error = unknown_outcome(
                reason,
                "the lookup of the records could not reach the site; a resumed run checks again",
            );
            // Left unfinished in the journal: a resumed run looks them up again.
            return settle_all(ctx, &records, Status::Skipped, &error);
        }
        Err(LookupError::Refused(error)) => {
            let why = format!("looking the records up failed: {}", error.describe());
            settle_all(ctx, &records, Status::Failed, &unknown_outcome(reason, &why));
            return ctx.journal_finish(request);
        }
    };
    let keys = KeyFields::of(&ctx.template);
    let all_or_nothing = ROLLBACK_FUNCTIONS.contains(&ctx.template.function.as_str());
    let committed = all_or_nothing && records.iter().all(|r| found.ids.contains_key(&r.number));
    let mut applied = Vec::new();
    let mut again = Vec::new();
    let mut unknown = Vec::new();
    let mut existed = Vec::new();
    for record in records {
        if !all_or_nothing {
            if let Some(why) = found.differs.get(&record.number) {
                existed.push((record, why.clone()));
                continue;
            }
        }
        match found.ids.get(&record.number) {
            Some(&id) if committed || !all_or_nothing => {
                applied.push(RecordResult::applied(record.number, Some(id)).about(&keys, &record))
            }
            _ if found.unlookable.contains(&record.number) && !all_or_nothing => unknown.push(record),
            _ => again.push(record),
        }
    }
    ctx.settle(applied);
    if !existed.is_empty() {
        let results = existed
            .into_iter()
            .map(|(record, why)| {
                let error = MoodleError::local(
                    "already_exists",
                    format!("already in Moodle before this run, which did not create it ({why})"),
                );
                RecordResult::with_error(record.number, Status::Failed, error).about(&keys, &record)
            })
            .collect();
        ctx.settle(results);
    }
    if !unknown.is_empty() {
        let why = "it has no value to look it up by";
        settle_all(ctx, &unknown, Status::Failed, &unknown_outcome(reason, why));
    }
    if !again.is_empty() && resends >= ctx.retries() {
        let why = format!("still no clear answer after {} attempts", resends + 1);
        settle_all(ctx, &again, Status::Failed, &unknown_outcome(reason, &why));
        again.clear();
    }
    ctx.journal_finish(request);
    if !again.is_empty() {
        stack.push(Item::Send {
            records: again,
            resends: resends + 1,
        });
    }
}
