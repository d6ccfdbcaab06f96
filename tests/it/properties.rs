//! Property tests: the compiler and the formatter never panic, whatever the
//! input, and `fmt` is faithful (same tree, spans aside), idempotent and
//! keeps every comment.

use moodlec::check::{compile, Catalog};
use moodlec::diagnostic::Source;
use moodlec::fmt::format_source;
use moodlec::syntax::{comments::comments, parse};
use moodlec::template::ScalarType;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

use crate::harness;

// ---- helpers --------------------------------------------------------------------

fn source(text: &str) -> Source {
    Source::new("x.moodle", text)
}

/// The built-in templates, read from `templates/` so new ones are covered too.
fn builtins() -> Vec<(String, String)> {
    let dir = harness::repo_root().join("templates");
    let mut texts: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("templates directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "moodle"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable template");
            (path.display().to_string(), text)
        })
        .collect();
    texts.sort();
    assert!(!texts.is_empty(), "no built-in templates found");
    texts
}

/// Remove every `"span"` key, so trees that differ only in positions compare
/// equal. `FieldOption::Required(Span)` holds a bare span (no key), so a
/// `{start, end}` object is a span too.
fn strip_spans(value: &mut Value) {
    match value {
        Value::Object(map) if map.len() == 2 && map.contains_key("start") && map.contains_key("end") => {
            *value = Value::Null;
        }
        Value::Object(map) => {
            map.remove("span");
            map.values_mut().for_each(strip_spans);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_spans),
        _ => {}
    }
}

/// The syntax tree of `text` without spans, or `None` if it does not parse.
fn tree(text: &str) -> Option<Value> {
    let file = parse(&source(text)).ok()?;
    let mut value = serde_json::to_value(file).expect("the tree serializes");
    strip_spans(&mut value);
    Some(value)
}

/// Comment texts, sorted: `fmt` may move a comment above its statement, so
/// the order can change but the multiset may not.
fn comment_texts(text: &str) -> Vec<String> {
    let mut texts: Vec<String> = comments(text).into_iter().map(|c| c.text).collect();
    texts.sort();
    texts
}

/// Everything `fmt` promises for a text that parses. Returns an error
/// message instead of panicking so proptest can shrink the input.
fn check_fmt(text: &str) -> Result<(), TestCaseError> {
    let Ok(once) = format_source(&source(text)) else {
        prop_assert!(tree(text).is_none(), "fmt failed on a text that parses");
        return Ok(());
    };
    let before = tree(text).expect("fmt succeeded, so the text parses");
    let after = tree(&once);
    prop_assert!(after.is_some(), "formatted text does not parse:\n{once}");
    prop_assert!(
        Some(before) == after,
        "the tree changed.\ninput:\n{text}\nformatted:\n{once}"
    );
    let twice = format_source(&source(&once)).expect("formatted text parses");
    prop_assert!(
        twice == once,
        "fmt is not idempotent.\nonce:\n{once}\ntwice:\n{twice}"
    );
    prop_assert_eq!(comment_texts(&once), comment_texts(text), "comments changed");
    prop_assert!(once.is_empty() || once.ends_with('\n'), "no final newline");
    prop_assert!(
        once.lines().all(|line| line == line.trim_end()),
        "trailing whitespace:\n{once}"
    );
    Ok(())
}

/// Neither the compiler nor the formatter may panic; whatever formats must
/// also keep the formatter's promises.
fn never_panics(text: &str) -> Result<(), TestCaseError> {
    let _ = compile(&[source(text)], &Catalog::default());
    check_fmt(text)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

// ---- the built-ins ----------------------------------------------------------------

#[test]
fn builtins_format_faithfully_and_idempotently() {
    for (name, text) in builtins() {
        if let Err(error) = check_fmt(&text) {
            panic!("{name}: {error}");
        }
    }
}

#[test]
fn builtins_lose_no_comment() {
    for (name, text) in builtins() {
        let formatted = format_source(&source(&text)).expect("built-ins parse");
        assert_eq!(comments(&formatted).len(), comments(&text).len(), "{name}");
        assert_eq!(comment_texts(&formatted), comment_texts(&text), "{name}");
    }
}

// ---- arbitrary text and mutations ---------------------------------------------------

/// Pieces of the language, inserted at random places by the mutation test.
const TOKENS: &[&str] = &[
    "template",
    "extends",
    "function",
    "wrap",
    "param",
    "field",
    "list",
    "enum",
    "object",
    "required",
    "default",
    "min",
    "max",
    "length",
    "pattern",
    "one_of",
    "per_call",
    "rule",
    "unique",
    "ignore_case",
    "policy",
    "password",
    "off",
    "batch",
    "size",
    "group_by",
    "max_input_vars",
    "returns",
    "nothing",
    "map",
    "set",
    "exclude",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    ",",
    "=",
    "..",
    "1..",
    "..9",
    "param.x",
    "\"",
    "\"s\"",
    "\"\\",
    "\\",
    "#",
    "# c\n",
    "\n",
    " ",
    "-",
    "-1",
    "2.5",
    "0",
    "99999999999999999999",
    "true",
    "x",
    "int",
    "text",
    "{{",
    "}}",
    "\"{{ x }}\"",
    "\"\\d+\"",
    "é",
    "\r\n",
];

/// One edit of a text; positions are scaled to the text's length when applied.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(Index, usize),
    Insert(Index, &'static str),
    Duplicate(Index, usize),
    Swap(Index, Index, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<Index>(), prop::sample::select(TOKENS)).prop_map(|(at, token)| Mutation::Insert(at, token)),
        (any::<Index>(), 1usize..80).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
        (any::<Index>(), any::<Index>(), 1usize..30).prop_map(|(a, b, len)| Mutation::Swap(a, b, len)),
    ]
}

/// The byte offset `index` picks in `text`, moved back to a character boundary.
fn offset(text: &str, index: &Index) -> usize {
    let mut at = index.index(text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `start..start+len`, clipped to the text and to character boundaries.
fn range(text: &str, index: &Index, len: usize) -> (usize, usize) {
    let start = offset(text, index);
    let mut end = (start + len).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (start, end)
}

fn apply(text: &mut String, mutation: &Mutation) {
    match mutation {
        Mutation::Delete(at, len) => {
            let (start, end) = range(text, at, *len);
            text.replace_range(start..end, "");
        }
        Mutation::Insert(at, token) => {
            let at = offset(text, at);
            text.insert_str(at, token);
        }
        Mutation::Duplicate(at, len) => {
            let (start, end) = range(text, at, *len);
            let copy = text[start..end].to_owned();
            text.insert_str(end, &copy);
        }
        Mutation::Swap(a, b, len) => {
            let (a, b) = (range(text, a, *len), range(text, b, *len));
            let (first, second) = if a.0 <= b.0 { (a, b) } else { (b, a) };
            if first.1 <= second.0 {
                let (x, y) = (
                    text[first.0..first.1].to_owned(),
                    text[second.0..second.1].to_owned(),
                );
                text.replace_range(second.0..second.1, &x);
                text.replace_range(first.0..first.1, &y);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        never_panics(&text)?;
    }

    #[test]
    fn language_like_strings_never_panic(text in r#"[a-z_ :,=.{}()\[\]"\\#\n0-9-]{0,200}"#) {
        never_panics(&text)?;
    }

    #[test]
    fn mutated_builtins_never_panic(
        which in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let builtins = builtins();
        let mut text = builtins[which.index(builtins.len())].1.clone();
        for mutation in &mutations {
            apply(&mut text, mutation);
        }
        never_panics(&text)?;
    }
}

// ---- generated valid templates --------------------------------------------------------

/// A token of generated template text. Punctuation may touch its
/// neighbours; two words need whitespace or a comment between them.
#[derive(Debug, Clone)]
struct Tok {
    text: String,
    punct: bool,
}

fn w(text: impl Into<String>) -> Tok {
    Tok {
        text: text.into(),
        punct: false,
    }
}

fn p(text: &str) -> Tok {
    Tok {
        text: text.to_owned(),
        punct: true,
    }
}

type Toks = Vec<Tok>;

const KEYWORDS: &[&str] = &[
    "template",
    "extends",
    "function",
    "wrap",
    "param",
    "field",
    "list",
    "enum",
    "object",
    "required",
    "default",
    "min",
    "max",
    "length",
    "pattern",
    "one_of",
    "per_call",
    "rule",
    "unique",
    "ignore_case",
    "policy",
    "password",
    "off",
    "batch",
    "size",
    "group_by",
    "max_input_vars",
    "returns",
    "nothing",
    "map",
    "set",
    "exclude",
    "true",
    "false",
];

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,7}".prop_filter("not a keyword", |s| !KEYWORDS.contains(&s.as_str()))
}

/// A string literal as written: plain text, escapes, backslashes that are
/// not escapes (regexes), raw newlines, and characters that look like code.
fn string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9 .,|'()]{1,6}",
        1 => Just(r#"\""#.to_owned()),
        1 => Just(r"\\".to_owned()),
        1 => Just(r"\n".to_owned()),
        1 => Just(r"\t".to_owned()),
        1 => Just(r"\d+".to_owned()),
        1 => Just(r"\.".to_owned()),
        1 => Just("\n".to_owned()),
        1 => Just("\t".to_owned()),
        1 => Just("# not a comment".to_owned()),
        1 => Just("{{ x | upper }}".to_owned()),
        1 => Just("é€".to_owned()),
    ];
    prop::collection::vec(piece, 0..5).prop_map(|pieces| format!("\"{}\"", pieces.concat()))
}

fn number() -> impl Strategy<Value = String> {
    r"-?[0-9]{1,4}(\.[0-9]{1,2})?"
}

fn integer() -> impl Strategy<Value = String> {
    "[0-9]{1,5}"
}

fn literal() -> impl Strategy<Value = Tok> {
    prop_oneof![
        string().prop_map(w),
        number().prop_map(w),
        prop::bool::ANY.prop_map(|b| w(b.to_string())),
        ident().prop_map(w),
    ]
}

/// `a, b, c` with an optional trailing comma where the grammar allows one.
fn comma_list(items: Vec<Tok>, trailing: bool) -> Toks {
    let mut toks = Vec::new();
    let count = items.len();
    for (i, item) in items.into_iter().enumerate() {
        toks.push(item);
        if i + 1 < count || trailing {
            toks.push(p(","));
        }
    }
    toks
}

fn idents(max: usize) -> impl Strategy<Value = Toks> {
    prop::collection::vec(ident().prop_map(w), 1..max).prop_map(|items| comma_list(items, false))
}

fn scalar_type() -> impl Strategy<Value = String> {
    prop::sample::select(ScalarType::ALL).prop_map(|t| t.name().to_owned())
}

fn field_option() -> impl Strategy<Value = Toks> {
    let lits = (prop::collection::vec(literal(), 0..12), any::<bool>());
    prop_oneof![
        Just(vec![w("required")]),
        Just(vec![w("per_call")]),
        literal().prop_map(|lit| vec![w("default"), lit]),
        ident().prop_map(|name| vec![w("default"), w(format!("param.{name}"))]),
        number().prop_map(|n| vec![w("min"), w(n)]),
        number().prop_map(|n| vec![w("max"), w(n)]),
        (prop::option::of(integer()), prop::option::of(integer())).prop_map(|(a, b)| vec![
            w("length"),
            w(format!("{}..{}", a.unwrap_or_default(), b.unwrap_or_default()))
        ]),
        string().prop_map(|s| vec![w("pattern"), w(s)]),
        lits.prop_map(|(values, trailing)| {
            let trailing = trailing && !values.is_empty();
            let mut toks = vec![w("one_of"), p("[")];
            toks.extend(comma_list(values, trailing));
            toks.push(p("]"));
            toks
        }),
    ]
}

/// `{ field ... }`
fn braced_fields(depth: u32) -> impl Strategy<Value = Toks> {
    prop::collection::vec(field(depth), 0..4).prop_map(|fields| {
        let mut toks = vec![p("{")];
        toks.extend(fields.into_iter().flatten());
        toks.push(p("}"));
        toks
    })
}

fn field_type(depth: u32) -> BoxedStrategy<Toks> {
    let enum_type =
        (prop::collection::vec(string().prop_map(w), 0..8), any::<bool>()).prop_map(|(values, trailing)| {
            let trailing = trailing && !values.is_empty();
            let mut toks = vec![w("enum"), p("(")];
            toks.extend(comma_list(values, trailing));
            toks.push(p(")"));
            toks
        });
    let scalar = scalar_type().prop_map(|t| vec![w(t)]);
    if depth == 0 {
        return prop_oneof![3 => scalar, 1 => enum_type].boxed();
    }
    let list = braced_fields(depth - 1).prop_map(|body| [vec![w("list")], body].concat());
    let object = braced_fields(depth - 1).prop_map(|body| [vec![w("object")], body].concat());
    // `list TYPE`: a list of any type, `list object { }` and `list list int` included.
    let values = field_type(depth - 1).prop_map(|inner| [vec![w("list")], inner].concat());
    prop_oneof![3 => scalar, 1 => enum_type, 1 => list, 1 => object, 1 => values].boxed()
}

fn field(depth: u32) -> BoxedStrategy<Toks> {
    (
        ident(),
        field_type(depth),
        prop::collection::vec(field_option(), 0..4),
        prop::option::of(string()),
    )
        .prop_map(|(name, ty, options, doc)| {
            let mut toks = vec![w("field"), w(name), p(":")];
            toks.extend(ty);
            toks.extend(options.into_iter().flatten());
            toks.extend(doc.map(w));
            toks
        })
        .boxed()
}

fn param() -> impl Strategy<Value = Toks> {
    (
        ident(),
        scalar_type(),
        prop::option::of(literal()),
        prop::option::of(string()),
    )
        .prop_map(|(name, ty, default, doc)| {
            let mut toks = vec![w("param"), w(name), p(":"), w(ty)];
            if let Some(value) = default {
                toks.extend([p("="), value]);
            }
            toks.extend(doc.map(w));
            toks
        })
}

fn policy() -> impl Strategy<Value = Toks> {
    let setting = (ident(), integer()).prop_map(|(name, value)| vec![w(name), w(value)]);
    let block = prop::collection::vec(setting, 0..3).prop_map(|settings| {
        let mut toks = vec![p("{")];
        toks.extend(settings.into_iter().flatten());
        toks.push(p("}"));
        toks
    });
    prop_oneof![Just(vec![]), Just(vec![w("off")]), block]
        .prop_map(|tail| [vec![w("policy"), w("password")], tail].concat())
}

fn batch() -> impl Strategy<Value = Toks> {
    let setting = prop_oneof![
        integer().prop_map(|n| vec![w("size"), w(n)]),
        ident().prop_map(|f| vec![w("group_by"), w(f)]),
        integer().prop_map(|n| vec![w("max_input_vars"), w(n)]),
    ];
    prop::collection::vec(setting, 1..4).prop_map(|settings| {
        let mut toks = vec![w("batch")];
        toks.extend(settings.into_iter().flatten());
        toks
    })
}

fn returns() -> impl Strategy<Value = Toks> {
    prop_oneof![
        Just(vec![w("returns"), w("nothing")]),
        braced_fields(1).prop_map(|body| [vec![w("returns"), w("list")], body].concat()),
        braced_fields(1).prop_map(|body| [vec![w("returns"), w("object")], body].concat()),
    ]
}

fn statement() -> impl Strategy<Value = Toks> {
    prop_oneof![
        1 => ident().prop_map(|f| vec![w("function"), w(f)]),
        1 => ident().prop_map(|f| vec![w("wrap"), w(f)]),
        1 => param(),
        4 => field(2),
        1 => (string(), string()).prop_map(|(expr, message)| vec![w("rule"), w(expr), w(message)]),
        1 => (idents(4), any::<bool>()).prop_map(|(fields, case)| {
            let mut toks = [vec![w("unique")], fields].concat();
            toks.extend(case.then(|| w("ignore_case")));
            toks
        }),
        1 => policy(),
        1 => batch(),
        1 => returns(),
        1 => (ident(), string()).prop_map(|(f, s)| vec![w("map"), w(f), p("="), w(s)]),
        1 => (ident(), literal()).prop_map(|(f, lit)| vec![w("set"), w(f), p("="), lit]),
        1 => idents(4).prop_map(|keys| [vec![w("exclude")], keys].concat()),
    ]
}

fn template() -> impl Strategy<Value = Toks> {
    (
        ident(),
        prop::option::of(ident()),
        prop::option::of(string()),
        prop::collection::vec(statement(), 0..10),
    )
        .prop_map(|(name, base, doc, statements)| {
            let mut toks = vec![w("template"), w(name)];
            if let Some(base) = base {
                toks.extend([w("extends"), w(base)]);
            }
            toks.extend(doc.map(w));
            toks.push(p("{"));
            toks.extend(statements.into_iter().flatten());
            toks.push(p("}"));
            toks
        })
}

/// What goes between two tokens: whitespace, blank lines and comments
/// (which must end their line), or nothing where punctuation allows.
fn separator() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just(" ".to_owned()),
        3 => Just("\n  ".to_owned()),
        1 => Just(String::new()),
        1 => Just("\n\n\n    ".to_owned()),
        1 => Just("\t".to_owned()),
        1 => Just("\r\n".to_owned()),
        2 => "[ a-z\"{}#]{0,12}".prop_map(|text| format!(" #{text}\n")),
        1 => "[ a-z]{0,12}".prop_map(|text| format!("\n\n# {text}\n\n")),
    ]
}

/// Template text: 0..3 templates, tokens joined by random separators.
fn template_text() -> impl Strategy<Value = String> {
    prop::collection::vec(template(), 0..3)
        .prop_map(|templates| templates.concat())
        .prop_flat_map(|toks| {
            let count = toks.len() + 1;
            (Just(toks), prop::collection::vec(separator(), count))
        })
        .prop_map(|(toks, separators)| join(&toks, &separators))
}

fn join(toks: &[Tok], separators: &[String]) -> String {
    let mut text = separators[0].clone();
    for (i, tok) in toks.iter().enumerate() {
        text.push_str(&tok.text);
        let next_is_word = toks.get(i + 1).is_some_and(|next| !next.punct);
        let separator = &separators[i + 1];
        // Two words (or a word at the end, before a possible comment) need a real gap.
        if separator.is_empty() && !tok.punct && next_is_word {
            text.push(' ');
        }
        text.push_str(separator);
    }
    text
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn generated_templates_parse_and_format_faithfully(text in template_text()) {
        prop_assert!(parse(&source(&text)).is_ok(), "generated text does not parse:\n{}", text);
        let _ = compile(&[source(&text)], &Catalog::default());
        check_fmt(&text)?;
    }

    #[test]
    fn generated_templates_keep_every_comment(text in template_text()) {
        let formatted = format_source(&source(&text)).expect("generated text parses");
        prop_assert_eq!(comments(&formatted).len(), comments(&text).len());
    }
}
