//! How PHP turns a request into `$_GET` and `$_POST`, which is all Moodle's
//! REST server ever sees (moodle-ws.md 1.1, 1.2, 4.3).
//!
//! Ported from php-src main/php_variables.c (PHP 8): `php_default_treat_data`
//! for the query string, `add_post_var`/`add_post_vars` for a form body and
//! `php_register_variable_ex` for bracketed names such as `users[0][email]`.
//! The details that matter to a client:
//! - `+` and `%XX` are decoded in names and values; brackets may be raw or
//!   percent-encoded because names are decoded before they are split.
//! - `max_input_vars` is counted separately for the query string and the
//!   body, and pairs past it are silently dropped. The two parsers count
//!   differently, exactly as PHP does: the query parser checks before it
//!   registers (at most `max` pairs survive), the body parser registers a
//!   pair and then checks (`max + 1` pairs survive), and the body parser also
//!   counts empty segments such as the middle of `a=1&&b=2`.
//! - `$_GET` and `$_POST` are merged by Moodle with `array_merge`: shallow,
//!   the body wins for a top-level name.

use std::collections::HashMap;
use std::fmt;

/// PHP's default `max_input_nesting_level`.
const MAX_NESTING: usize = 64;

/// A request variable as PHP holds it: a string, or an array built from
/// bracketed names. Values that are not valid UTF-8 are kept as bytes so
/// that parameter validation can reject them as Moodle's `fix_utf8` would.
#[derive(Clone, Debug, PartialEq)]
pub enum PhpValue {
    Str(String),
    Bytes(Vec<u8>),
    Array(PhpArray),
}

impl PhpValue {
    fn from_bytes(bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(s) => PhpValue::Str(s),
            Err(e) => PhpValue::Bytes(e.into_bytes()),
        }
    }

    /// The value as PHP's `print_r` shows a scalar (arrays as "Array").
    pub fn display(&self) -> String {
        match self {
            PhpValue::Str(s) => s.clone(),
            PhpValue::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            PhpValue::Array(_) => "Array".to_string(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            PhpValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&PhpArray> {
        match self {
            PhpValue::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// A PHP array key: numeric strings such as "0" or "-3" become integers
/// (`ZEND_HANDLE_NUMERIC_STR`), everything else stays a string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Int(i64),
    Str(String),
}

impl Key {
    pub fn from_name(name: &str) -> Key {
        // Canonical decimal integers within i64 are exactly the strings
        // Moodle's PARAM_INT accepts, so the port's check doubles as PHP's.
        match moodlec::moodle::params::int(name) {
            Ok(n) => Key::Int(n),
            Err(_) => Key::Str(name.to_string()),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(n) => write!(f, "{n}"),
            Key::Str(s) => f.write_str(s),
        }
    }
}

/// An ordered PHP array: insertion order, in-place update of existing keys,
/// and `[]` appends at the next free integer index.
#[derive(Clone, Debug, Default)]
pub struct PhpArray {
    entries: Vec<(Key, PhpValue)>,
    index: HashMap<Key, usize>,
    next_int: i64,
}

impl PartialEq for PhpArray {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl PhpArray {
    pub fn new() -> Self {
        PhpArray::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &PhpValue)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn values(&self) -> impl Iterator<Item = &PhpValue> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Looks a name up the way `$array['name']` does.
    pub fn get(&self, name: &str) -> Option<&PhpValue> {
        self.get_key(&Key::from_name(name))
    }

    pub fn get_key(&self, key: &Key) -> Option<&PhpValue> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    /// `$array[key] = value`: replaces in place, or appends.
    pub fn insert(&mut self, key: Key, value: PhpValue) {
        if let Some(&i) = self.index.get(&key) {
            self.entries[i].1 = value;
            return;
        }
        if let Key::Int(n) = key {
            self.next_int = self.next_int.max(n.saturating_add(1));
        }
        self.index.insert(key.clone(), self.entries.len());
        self.entries.push((key, value));
    }

    /// `$array[] = value`.
    pub fn push(&mut self, value: PhpValue) {
        self.insert(Key::Int(self.next_int), value);
    }

    /// `unset($array[name])`.
    pub fn remove(&mut self, name: &str) -> Option<PhpValue> {
        let key = Key::from_name(name);
        let i = self.index.remove(&key)?;
        let (_, value) = self.entries.remove(i);
        for slot in self.index.values_mut() {
            if *slot > i {
                *slot -= 1;
            }
        }
        Some(value)
    }

    /// The array stored under `key`, created (or replacing a scalar) as
    /// `php_register_variable_ex` does when it descends into `name[key]`.
    fn child_array(&mut self, key: Option<Key>) -> &mut PhpArray {
        let i = match key {
            None => {
                self.push(PhpValue::Array(PhpArray::new()));
                self.entries.len() - 1
            }
            Some(key) => {
                if !matches!(self.get_key(&key), Some(PhpValue::Array(_))) {
                    self.insert(key.clone(), PhpValue::Array(PhpArray::new()));
                }
                self.index[&key]
            }
        };
        match &mut self.entries[i].1 {
            PhpValue::Array(a) => a,
            _ => unreachable!("just made an array"),
        }
    }

    /// Moodle's `array_merge($_GET, $_POST)`: string keys of the body
    /// overwrite (keeping the query's position), integer keys are renumbered
    /// and appended.
    pub fn merge(get: PhpArray, post: PhpArray) -> PhpArray {
        let mut merged = PhpArray::new();
        for (key, value) in get.entries.into_iter().chain(post.entries) {
            match key {
                Key::Int(_) => merged.push(value),
                key @ Key::Str(_) => merged.insert(key, value),
            }
        }
        merged
    }
}

/// One parsed part of a request (query string or body).
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub vars: PhpArray,
    /// Pairs PHP saw, counted as it counts them for `max_input_vars`.
    pub pairs: usize,
    /// Pairs past `max_input_vars` that PHP dropped without a word.
    pub dropped: usize,
}

/// `php_default_treat_data` for PARSE_GET: `strtok` on '&' (empty tokens
/// are skipped), the limit checked before a pair is registered.
pub fn parse_query(query: &[u8], max_vars: usize) -> Parsed {
    let tokens: Vec<&[u8]> = query.split(|&b| b == b'&').filter(|t| !t.is_empty()).collect();
    let mut parsed = Parsed {
        pairs: tokens.len(),
        ..Parsed::default()
    };
    for (i, token) in tokens.iter().enumerate() {
        if i + 1 > max_vars {
            parsed.dropped = tokens.len() - i;
            break;
        }
        register_pair(&mut parsed.vars, token);
    }
    parsed
}

/// `add_post_vars` for an `application/x-www-form-urlencoded` body: every
/// '&'-separated segment counts (a trailing '&' ends the body), and the
/// limit is checked after the pair was registered.
pub fn parse_body(body: &[u8], max_vars: usize) -> Parsed {
    let mut segments: Vec<&[u8]> = body.split(|&b| b == b'&').collect();
    if body.is_empty() || body.ends_with(b"&") {
        segments.pop();
    }
    let mut parsed = Parsed {
        pairs: segments.len(),
        ..Parsed::default()
    };
    for (i, segment) in segments.iter().enumerate() {
        register_pair(&mut parsed.vars, segment);
        if i + 1 > max_vars {
            parsed.dropped = segments.len() - (i + 1);
            break;
        }
    }
    parsed
}

/// Splits `name=value` at the first '=', decodes both and registers them.
fn register_pair(vars: &mut PhpArray, pair: &[u8]) {
    let (name, value) = match pair.iter().position(|&b| b == b'=') {
        Some(eq) => (&pair[..eq], &pair[eq + 1..]),
        None => (pair, &[][..]),
    };
    register(vars, &url_decode(name), PhpValue::from_bytes(url_decode(value)));
}

/// `php_url_decode`: '+' is a space, `%XX` with two hex digits is a byte,
/// anything else (a lone '%') stays as it is.
pub fn url_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => match hex_pair(input.get(i + 1..i + 3)) {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_pair(pair: Option<&[u8]>) -> Option<u8> {
    let pair = pair?;
    let digit = |b: u8| (b as char).to_digit(16);
    Some((digit(*pair.first()?)? * 16 + digit(*pair.get(1)?)?) as u8)
}

/// `php_register_variable_ex`: stores `value` under a possibly bracketed
/// name. The name is a C string (cut at the first NUL); leading spaces are
/// ignored; ' ' and '.' in the base name become '_'; `a[x][]` descends and
/// appends; text after a closing ']' that does not open another '[' is
/// ignored; an unclosed '[' turns into '_' at the top level.
fn register(vars: &mut PhpArray, raw_name: &[u8], value: PhpValue) {
    let name = raw_name.split(|&b| b == 0).next().unwrap_or_default();
    let name = &name[name.iter().take_while(|&&b| b == b' ').count()..];
    let open = name.iter().position(|&b| b == b'[');
    let base_end = open.unwrap_or(name.len());
    let mut base: Vec<u8> = name[..base_end].iter().map(|&b| mangle_base(b)).collect();
    if base.is_empty() {
        return;
    }
    let Some(open) = open else {
        vars.insert(key_of(&base), value);
        return;
    };
    let (indices, unclosed_rest) = bracket_indices(&name[open..]);
    if indices.is_empty() {
        // "a[b": the '[' becomes '_' and the rest joins the base name.
        base.push(b'_');
        base.extend(unclosed_rest.iter().map(|&b| mangle_index_rest(b)));
        vars.insert(key_of(&base), value);
        return;
    }
    if indices.len() > MAX_NESTING {
        vars.remove(&String::from_utf8_lossy(&base));
        return;
    }
    let mut target = vars.child_array(Some(key_of(&base)));
    let (last, parents) = indices.split_last().expect("not empty");
    for index in parents {
        target = target.child_array(index.as_deref().map(key_of));
    }
    match last {
        None => target.push(value),
        Some(index) => target.insert(key_of(index), value),
    }
}

/// Base-name characters PHP cannot keep in a variable name.
fn mangle_base(b: u8) -> u8 {
    if b == b' ' || b == b'.' {
        b'_'
    } else {
        b
    }
}

fn mangle_index_rest(b: u8) -> u8 {
    if b == b' ' || b == b'.' || b == b'[' {
        b'_'
    } else {
        b
    }
}

/// The indices of `[i][j][]…` (None for `[]`), stopping at the first
/// closing bracket not followed by '['. When the very first '[' is never
/// closed, returns no index and the text after that '['.
fn bracket_indices(mut rest: &[u8]) -> (Vec<Option<Vec<u8>>>, &[u8]) {
    let mut indices = Vec::new();
    while let Some(after_open) = rest.strip_prefix(b"[") {
        // `a[ ]` is an append: one leading whitespace before ']' is skipped.
        let skip = usize::from(after_open.first().is_some_and(u8::is_ascii_whitespace));
        if after_open.get(skip) == Some(&b']') {
            indices.push(None);
            rest = &after_open[skip + 1..];
            continue;
        }
        let Some(close) = after_open
            .iter()
            .skip(skip)
            .position(|&b| b == b']')
            .map(|p| p + skip)
        else {
            if indices.is_empty() {
                return (indices, after_open);
            }
            // At a deeper level PHP keeps what it has and drops the rest.
            break;
        };
        indices.push(Some(after_open[..close].to_vec()));
        rest = &after_open[close + 1..];
    }
    (indices, &[])
}

fn key_of(name: &[u8]) -> Key {
    Key::from_name(&String::from_utf8_lossy(name))
}
