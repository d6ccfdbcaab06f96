//! The HTTP side: an axum app on a current-thread tokio runtime, the PHP
//! request parsing in front of server.php and token.php, and fault
//! injection. A connection is "dropped" by a kill switch on its socket: the
//! handler sets it, hyper's write of the answer then fails and the
//! connection closes without a byte of response.

use std::future::IntoFuture;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::serve::{IncomingStream, Listener};
use axum::Extension;
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::config::SiteConfig;
use super::faults::Fault;
use super::functions;
use super::login;
use super::php_input::{parse_body, parse_query, PhpArray};
use super::ws::{self, Site};
use super::{Call, Outcome};

pub type Shared = Arc<Mutex<Site>>;

/// Locks the site; a panicking test thread must not wedge the others.
pub fn lock(shared: &Shared) -> MutexGuard<'_, Site> {
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: std::net::TcpListener,
    shared: Shared,
    shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = KillListener(TcpListener::from_std(listener).expect("listener into tokio"));
    let workers = Workers(
        lock(&shared)
            .config
            .workers
            .map(|n| Arc::new(tokio::sync::Semaphore::new(n.max(1)))),
    );
    let app = Router::new()
        .route("/webservice/rest/server.php", any(rest))
        .route("/login/token.php", any(token))
        .with_state(shared)
        // PHP's post_max_size applies instead of axum's 2 MB.
        .layer(DefaultBodyLimit::disable())
        .layer(Extension(workers));
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<KillSwitch>());
    tokio::select! {
        _ = server.into_future() => {}
        _ = shutdown => {}
    }
}

/// The request as PHP sees it: `$_GET` and `$_POST` merged, with counts.
struct Input {
    vars: PhpArray,
    pairs: usize,
    dropped: usize,
}

/// PHP fills `$_POST` only for a POST with a form content type; JSON
/// bodies are ignored (1.2).
fn read_input(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8], config: &SiteConfig) -> Input {
    let max_vars = config.max_input_vars;
    let query = parse_query(uri.query().unwrap_or_default().as_bytes(), max_vars);
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let within_limit = body.len() <= config.post_max_size;
    let post = if method == Method::POST && is_form && within_limit {
        parse_body(body, max_vars)
    } else {
        Default::default()
    };
    Input {
        pairs: query.pairs + post.pairs,
        dropped: query.dropped + post.dropped,
        vars: PhpArray::merge(query.vars, post.vars),
    }
}

/// How the simulator answers a call.
enum Answer {
    Reply(Response),
    Drop,
}

/// The PHP workers of `SiteConfig::workers` (None: unlimited).
#[derive(Clone)]
struct Workers(Option<Arc<tokio::sync::Semaphore>>);

/// Counts a call in `SiteConfig::load` until it is answered (or dropped).
struct InFlight(super::config::Load);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.leave();
    }
}

async fn rest(
    State(shared): State<Shared>,
    Extension(workers): Extension<Workers>,
    ConnectInfo(kill): ConnectInfo<KillSwitch>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let load = lock(&shared).config.load.clone();
    load.enter();
    let _in_flight = InFlight(load);
    // A call holds a worker from its start to its answer; it waits while all are busy.
    let _worker = match workers.0 {
        Some(workers) => Some(workers.acquire_owned().await.expect("workers are never closed")),
        None => None,
    };
    let (answer, delay, records) = run_call(&shared, &method, &uri, &headers, &body);
    let cost = lock(&shared).config.cost_per_record;
    let delay = delay + cost * u32::try_from(records).unwrap_or(u32::MAX);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match answer {
        Answer::Reply(response) => response,
        Answer::Drop => {
            kill.0.store(true, Ordering::SeqCst);
            StatusCode::OK.into_response()
        }
    }
}

/// Everything under the lock: fault decision, the Moodle call, the log.
/// Also the records Moodle wrote: the length of a write call's main list
/// parameter, or 1; 0 for a read (reading a user is a query, writing one is
/// many queries, events and caches: the measured cost per record is a
/// write's) and for a call that did not reach Moodle.
fn run_call(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> (Answer, Duration, usize) {
    let mut site = lock(shared);
    let input = read_input(method, uri, headers, body, &site.config);
    let seq = site.calls.len() + 1;
    let function = ws::function_name(&input.vars);
    let writes = function
        .as_deref()
        .and_then(functions::find)
        .is_some_and(|f| f.writes);
    let (mut fault, latency) = site.faults.decide(seq, writes);
    if site
        .config
        .proxy_body_limit
        .is_some_and(|limit| body.len() > limit)
    {
        fault = Some(Fault::Http413);
    }
    let echo = site.config.echo_token.then(|| {
        echo_of(
            input
                .vars
                .get("wstoken")
                .and_then(|t| t.as_str())
                .unwrap_or_default(),
        )
    });
    let redirect_to = site.faults.plan.redirect_to.clone();
    let records = if !writes || fault.is_some_and(|f| !f.reaches_moodle()) {
        0
    } else {
        // The control parameters are strings: the first array is the main list.
        input
            .vars
            .values()
            .find_map(|value| value.as_array().map(PhpArray::len))
            .unwrap_or(1)
    };
    let (answer, outcome) = match fault {
        Some(f) if !f.reaches_moodle() => (
            fault_answer(f, redirect_to.as_deref(), echo.as_deref()),
            Outcome::Faulted {
                fault: f,
                applied: false,
            },
        ),
        _ => call_moodle(&mut site, input.vars, fault, echo.as_deref()),
    };
    let slow = match fault {
        Some(Fault::Slow(extra)) => extra,
        _ => Duration::ZERO,
    };
    site.calls.push(Call {
        seq,
        function,
        pairs: input.pairs,
        dropped_pairs: input.dropped,
        outcome,
    });
    (answer, latency + slow, records)
}

/// The call reaches Moodle; a drop-after-apply or slow fault then acts on
/// the answer.
fn call_moodle(
    site: &mut Site,
    vars: PhpArray,
    fault: Option<Fault>,
    echo: Option<&str>,
) -> (Answer, Outcome) {
    if !site.config.rest_enabled {
        let outcome = Outcome::Rejected {
            exception: String::new(),
            errorcode: None,
            committed: false,
        };
        return (Answer::Reply(StatusCode::OK.into_response()), outcome);
    }
    let reply = ws::handle(site, vars);
    let body = match echo {
        Some(echo) => echo_into(&reply.body, echo),
        None => reply.body,
    };
    let response = moodle_response(reply.content_type, body);
    match fault {
        Some(f @ Fault::Http502AfterApply) => (
            fault_answer(f, None, echo),
            Outcome::Faulted {
                fault: f,
                applied: reply.committed,
            },
        ),
        Some(f @ Fault::DropAfterApply) => (
            Answer::Drop,
            Outcome::Faulted {
                fault: f,
                applied: reply.committed,
            },
        ),
        Some(f @ Fault::Http500 { .. }) => (
            fault_answer(f, None, echo),
            Outcome::Faulted {
                fault: f,
                applied: reply.committed,
            },
        ),
        Some(f @ Fault::Body200 { body, .. }) => (
            Answer::Reply(body_200(body)),
            Outcome::Faulted {
                fault: f,
                applied: reply.committed,
            },
        ),
        Some(f @ Fault::Slow(_)) => (
            Answer::Reply(response),
            Outcome::Faulted {
                fault: f,
                applied: reply.committed,
            },
        ),
        _ => (Answer::Reply(response), reply.outcome),
    }
}

/// Headers of `webservice_rest_server::send_headers`; always HTTP 200.
fn moodle_response(content_type: &'static str, body: String) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, must-revalidate, pre-check=0, post-check=0, max-age=0"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// The echo of a received token: raw, percent-encoded, and with `+` read
/// as a space (a form decoder reading a raw `+`).
fn echo_of(token: &str) -> String {
    let percent: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
    format!(" [token {token} {percent} {}]", token.replace('+', " "))
}

/// Keys whose values moodlec matches on (function names, the lookup and
/// result fields): left as they are so the site still works.
const NOT_ECHOED: &[&str] = &[
    "name",
    "username",
    "email",
    "idnumber",
    "shortname",
    "version",
    "release",
    "exception",
    "errorcode",
    "lang",
    "auth",
    "country",
    "timezone",
    "theme",
];

/// A JSON body with `echo` appended to its string values (an XML body is
/// left alone).
fn echo_into(body: &str, echo: &str) -> String {
    fn walk(value: &mut serde_json::Value, key: Option<&str>, echo: &str) {
        match value {
            serde_json::Value::String(s) if !key.is_some_and(|k| NOT_ECHOED.contains(&k)) => s.push_str(echo),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(v, key, echo)),
            serde_json::Value::Object(map) => map.iter_mut().for_each(|(k, v)| walk(v, Some(k), echo)),
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(body) else {
        return body.to_string();
    };
    walk(&mut value, None, echo);
    super::response::php_json(&value)
}

/// Moodle's default climaintenance.html (bootstrap_renderer::plain_page
/// around early_error_content with the `sitemaintenance` string).
const MAINTENANCE_PAGE: &str = "<!DOCTYPE html>\n<html dir=\"ltr\" lang=\"en\" xml:lang=\"en\">\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\" />\n<title>This site is undergoing maintenance and is currently not available</title>\n</head><body><div style=\"margin-top: 6em; margin-left:auto; margin-right:auto; color:#990000; text-align:center; font-size:large; border-width:1px; border-color:black; background-color:#ffffee; border-style:solid; border-radius: 20px; border-collapse: collapse; width: 80%; -moz-border-radius: 20px; padding: 15px\">\nThis site is undergoing maintenance and is currently not available</div></body></html>";

/// The answer to a call that never reaches Moodle (or whose answer a
/// gateway replaced): a proxy's error page, Moodle's maintenance page, a
/// redirect, or nothing at all. `echo` (the token's echo) goes into pages.
fn fault_answer(fault: Fault, redirect_to: Option<&str>, echo: Option<&str>) -> Answer {
    let echo = echo.unwrap_or_default();
    let page = |status: StatusCode| {
        let reason = status.canonical_reason().unwrap_or_default();
        let html = format!(
            "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<p>request{echo}</p>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
            code = status.as_u16()
        );
        (status, [(header::CONTENT_TYPE, "text/html")], html).into_response()
    };
    let redirect = |status: u16, location: &str| {
        let status = StatusCode::from_u16(status).expect("a redirect status");
        let mut response = page(status);
        response.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_str(location).expect("a location"),
        );
        Answer::Reply(response)
    };
    match fault {
        Fault::Http502 | Fault::Http502AfterApply => Answer::Reply(page(StatusCode::BAD_GATEWAY)),
        Fault::Maintenance { retry_after } => {
            let body = format!("{MAINTENANCE_PAGE}{echo}");
            let mut response = (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                body,
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            response
                .extensions_mut()
                .insert(hyper::ext::ReasonPhrase::from_static(b"Moodle under maintenance"));
            Answer::Reply(response)
        }
        Fault::Html200 => Answer::Reply(page(StatusCode::OK)),
        Fault::RedirectHere(status) => redirect(status, "/webservice/rest/server.php"),
        Fault::RedirectAway(status) => {
            let to = redirect_to.expect("Faults::redirect_to for RedirectAway");
            redirect(
                status,
                &format!("{}/webservice/rest/server.php", to.trim_end_matches('/')),
            )
        }
        Fault::Http503 => Answer::Reply(page(StatusCode::SERVICE_UNAVAILABLE)),
        Fault::Http413 => Answer::Reply(page(StatusCode::PAYLOAD_TOO_LARGE)),
        Fault::Http429 => {
            let mut response = page(StatusCode::TOO_MANY_REQUESTS);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Answer::Reply(response)
        }
        Fault::DropBeforeApply => Answer::Drop,
        Fault::Body200 { body, .. } => Answer::Reply(body_200(body)),
        Fault::Http500 { .. } => Answer::Reply(page(StatusCode::INTERNAL_SERVER_ERROR)),
        Fault::DropAfterApply | Fault::Slow(_) => unreachable!("these faults reach Moodle"),
    }
}

/// HTTP 200 with `body`: HTML if it looks like it, JSON otherwise.
fn body_200(body: &'static str) -> Response {
    let content_type = if body.starts_with('<') {
        "text/html; charset=utf-8"
    } else {
        "application/json"
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// token.php; not subject to faults and not in the call log.
async fn token(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut site = lock(&shared);
    let input = read_input(&method, &uri, &headers, &body, &site.config);
    let json = login::handle(&mut site, &input.vars);
    let mut response = json.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// Per-connection flag: once set, the connection only fails.
#[derive(Clone, Debug)]
pub struct KillSwitch(Arc<AtomicBool>);

pub struct KillListener(TcpListener);

pub struct KillableIo {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

impl Listener for KillListener {
    type Io = KillableIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, addr)) => {
                    let killed = Arc::new(AtomicBool::new(false));
                    return (KillableIo { inner, killed }, addr);
                }
                // e.g. too many open files: wait a little, as axum does.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, KillListener>> for KillSwitch {
    fn connect_info(stream: IncomingStream<'_, KillListener>) -> Self {
        KillSwitch(stream.io().killed.clone())
    }
}

impl KillableIo {
    fn killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

fn dropped() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "connection dropped by fault injection")
}

impl AsyncRead for KillableIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(dropped()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(dropped()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(dropped()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
