//! core_message_send_instant_messages (message/externallib.php) and
//! core_notes_create_notes (notes/externallib.php): both handle each
//! record on its own and report a record that could not be handled in its
//! result (`msgid` / `noteid` -1 with an `errormessage`), not as an error
//! of the call.

use serde_json::{json, Value};

use super::super::config::SiteConfig;
use super::super::params::{default, list, optional, required, single, value, Desc, ParamType as T, Rec};
use super::super::response::WsError;
use super::super::state::{Message, Note};
use super::users::now;
use super::Ctx;

pub fn send_params(_: &SiteConfig) -> Desc {
    single(vec![required(
        "messages",
        list(single(vec![
            required("touserid", value(T::Int)),
            required("text", value(T::Raw)),
            optional("textformat", value(T::Int)),
            optional("clientmsgid", value(T::Alphanumext)),
        ])),
    )])
}

pub fn notes_params(_: &SiteConfig) -> Desc {
    single(vec![required(
        "notes",
        list(single(vec![
            required("userid", value(T::Int)),
            required("publishstate", value(T::Alpha)),
            required("courseid", value(T::Int)),
            required("text", value(T::Raw)),
            optional("format", value(T::Int)),
            default("clientnoteid", value(T::Alphanumext), ""),
        ])),
    )])
}

/// Messaging off is `disabled` for the whole call. Per message: a
/// recipient that does not exist or is deleted gets `msgid` -1 and
/// `touserdoesntexist`'s text, a text over 4096 bytes `errormessagetoolong`'s;
/// the token's user here is a site admin, whom
/// `can_send_message` always lets through; an unsupported text format
/// fails the whole call (`external_validate_format`). A message sent is
/// stored in the two users' conversation; its result carries the text,
/// time, conversation and sender.
pub fn send_instant_messages(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    if !ctx.site.messaging {
        return Err(WsError::moodle("disabled", "Messaging is disabled on this site"));
    }
    let mut results = Vec::new();
    for rec in params.list("messages") {
        let touserid = rec.int("touserid").unwrap_or_default();
        let mut result = serde_json::Map::new();
        let exists = ctx.state.users.get(&touserid).is_some_and(|u| !u.deleted);
        // \core_message\api::MESSAGE_MAX_LENGTH, in bytes (strlen).
        let too_long = exists && rec.text("text").len() > 4096;
        if exists && !too_long {
            let format = rec.int("textformat").unwrap_or(0);
            if !matches!(format, 0 | 1 | 2 | 4) {
                return Err(WsError::moodle("formatnotsupported", "Format not supported"));
            }
            let id = ctx.state.messages.iter().map(|m| m.id).max().unwrap_or(0) + 1;
            let message = Message {
                id,
                useridfrom: ctx.caller,
                useridto: touserid,
                conversationid: ctx.state.conversation(ctx.caller, touserid),
                text: rec.text("text").to_string(),
                format,
                timecreated: now(),
            };
            result.insert("msgid".into(), json!(id));
            if let Some(client) = rec.str("clientmsgid") {
                result.insert("clientmsgid".into(), json!(client));
            }
            result.insert("text".into(), json!(message.text));
            result.insert("timecreated".into(), json!(message.timecreated));
            result.insert("conversationid".into(), json!(message.conversationid));
            result.insert("useridfrom".into(), json!(message.useridfrom));
            result.insert("candeletemessagesforallusers".into(), json!(true));
            ctx.state.messages.push(message);
            ctx.committed = true;
        } else {
            result.insert("msgid".into(), json!(-1));
            if let Some(client) = rec.str("clientmsgid") {
                result.insert("clientmsgid".into(), json!(client));
            }
            // errormessagetoolong's English text is not recorded; made up.
            let message = if too_long {
                "The message is longer than allowed".to_string()
            } else {
                format!("You can not send a message to a user id ({touserid}) that doesn't exist")
            };
            result.insert("errormessage".into(), json!(message));
        }
        results.push(Value::Object(result));
    }
    Ok(Value::Array(results))
}

/// Notes off is `notesdisabled` for the whole call. Per note: a course that
/// does not exist (`invalidcourseid`'s text) or a user that does not exist
/// or is deleted gets `noteid` -1 with that text (the user's check comes
/// last and wins); otherwise the note is saved: `personal` as a draft,
/// `course` public in the course, `site` on the front page (course 1);
/// an unsupported format fails the whole call. Results in input order,
/// each with its clientnoteid.
pub fn create_notes(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    if !ctx.site.enable_notes {
        return Err(WsError::moodle(
            "notesdisabled",
            "Notes are disabled on this site",
        ));
    }
    let mut results = Vec::new();
    for rec in params.list("notes") {
        let courseid = rec.int("courseid").unwrap_or_default();
        let userid = rec.int("userid").unwrap_or_default();
        let mut error = None;
        if !ctx.state.courses.contains_key(&courseid) && courseid != 1 {
            error = Some("You are trying to use an invalid course ID".to_string());
        }
        if ctx.state.users.get(&userid).is_none_or(|u| u.deleted) {
            error = Some(format!("Invalid user id: {userid}"));
        }
        let mut result = serde_json::Map::new();
        result.insert("clientnoteid".into(), json!(rec.text("clientnoteid")));
        match error {
            Some(message) => {
                result.insert("noteid".into(), json!(-1));
                result.insert("errormessage".into(), json!(message));
            }
            None => {
                let format = rec.int("format").unwrap_or(1);
                if !matches!(format, 0 | 1 | 2 | 4) {
                    return Err(WsError::moodle("formatnotsupported", "Format not supported"));
                }
                let (publishstate, courseid) = match rec.text("publishstate") {
                    "personal" => ("draft", courseid),
                    "site" => ("site", 1),
                    // 'course', and the column's default for any other word.
                    "course" => ("public", courseid),
                    _ => ("draft", courseid),
                };
                let id = ctx.state.notes.iter().map(|n| n.id).max().unwrap_or(0) + 1;
                ctx.state.notes.push(Note {
                    id,
                    courseid,
                    userid,
                    author: ctx.caller,
                    content: rec.text("text").to_string(),
                    format,
                    publishstate: publishstate.to_string(),
                });
                ctx.committed = true;
                result.insert("noteid".into(), json!(id));
            }
        }
        results.push(Value::Object(result));
    }
    Ok(Value::Array(results))
}
