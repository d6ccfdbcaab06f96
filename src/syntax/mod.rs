//! Stage 1: template text to a spanned syntax tree. The only module that knows pest.

pub mod ast;
pub mod comments;
mod parse;

pub(crate) use parse::escape;

use pest::error::{ErrorVariant, InputLocation};
use pest::Parser;

use crate::diagnostic::{Code, Source, TemplateDiagnostic};
use crate::span::Span;

#[derive(pest_derive::Parser)]
#[grammar = "grammar/moodlec.pest"]
struct MoodlecParser;

/// Deepest `list { ... }` nesting accepted. Moodle's own structures nest two
/// levels; the bound keeps hostile input from exhausting the parser's stack.
const MAX_NESTING: usize = 32;

/// Parse a template file into its syntax tree.
///
/// # Errors
/// A syntax diagnostic pointing at the first place the text leaves the grammar.
pub fn parse(source: &Source) -> Result<ast::File, TemplateDiagnostic> {
    if let Some(span) = too_deep(&source.text) {
        return Err(
            TemplateDiagnostic::error(Code::Syntax, span, "braces nest too deeply")
                .label("nesting limit reached here")
                .help(format!("templates nest at most {MAX_NESTING} levels of `{{ }}`"))
                .in_source(source),
        );
    }
    // Track literal tokens too, so errors can say "expected `:`" at the right place.
    pest::set_error_detail(true);
    match MoodlecParser::parse(Rule::file, &source.text) {
        Ok(mut pairs) => Ok(parse::parse_file(pairs.next().expect("file rule"))),
        Err(error) => Err(syntax_error(&error, &source.text).in_source(source)),
    }
}

/// Find the first `{` that opens more than [`MAX_NESTING`] levels, outside
/// strings and comments.
fn too_deep(text: &str) -> Option<Span> {
    let mut depth = 0usize;
    for (offset, c) in comments::code_chars(text) {
        match c {
            '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(Span::new(offset, offset + 1));
                }
            }
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn syntax_error(error: &pest::error::Error<Rule>, text: &str) -> TemplateDiagnostic {
    let mut span = match error.location {
        InputLocation::Pos(pos) => token_at(text, pos),
        InputLocation::Span((start, end)) => Span::new(start, end),
    };
    // Rule-level positives stop at the last rule tried; the attempts tracker
    // also knows the literal tokens (`:`, `{`) tried further on.
    let attempts = error.parse_attempts().filter(|a| a.max_position > span.start);
    if let Some(attempts) = &attempts {
        span = token_at(text, attempts.max_position);
    }
    if span.start >= comments::content_end(text) {
        if let Some(diagnostic) = unclosed_at_end(text) {
            return diagnostic;
        }
    }
    let found = describe_found(text, span);
    let (message, label, expected) = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let names: Vec<String> = match &attempts {
                Some(attempts) => {
                    // What the parser would have accepted where it stopped:
                    // literal tokens, and the deepest rules it was trying.
                    let mut names: Vec<String> = attempts
                        .expected_tokens()
                        .iter()
                        .map(ToString::to_string)
                        .filter(|token| !token.trim().is_empty() && token != "#" && !token.contains(".."))
                        .map(|token| format!("`{token}`"))
                        .collect();
                    // pest reports a literal token it tried as the rule that
                    // tried it (`:` as `field`, `{` as `template`); with the
                    // token already listed, such an enclosing rule only misleads.
                    let has_tokens = !names.is_empty();
                    names.extend(
                        attempts
                            .call_stacks()
                            .iter()
                            .filter_map(|stack| stack.deepest.get_rule().copied())
                            .filter(|r| !matches!(r, Rule::WHITESPACE | Rule::COMMENT))
                            .filter(|r| !(has_tokens && encloses_tokens(*r)))
                            .map(|r| describe_rule(r).to_owned()),
                    );
                    names
                }
                None => positives.iter().map(|r| describe_rule(*r).to_owned()).collect(),
            };
            let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
            names.sort_unstable();
            names.dedup();
            let expected = expected_list(names.clone());
            // A long list of alternatives reads once, in the message; the
            // label under the token stays short.
            let label = if names.len() > 3 {
                format!("unexpected {found}")
            } else {
                format!("expected {expected}")
            };
            (
                format!("expected {expected}, found {found}"),
                label,
                names.iter().map(|n| (*n).to_owned()).collect(),
            )
        }
        ErrorVariant::CustomError { message } => (message.clone(), "here".to_owned(), Vec::new()),
    };
    let diagnostic = TemplateDiagnostic::error(Code::Syntax, span, message).label(label);
    // A string missing its closing quote pairs every later quote wrongly, so
    // the parser stops somewhere after it: point at the likely culprit too.
    match multiline_string_before(text, span.start) {
        Some(start) => {
            let line = text[..start].matches('\n').count() + 1;
            diagnostic
                .related(first_line(text, start), "this string runs across lines")
                .help(format!(
                    "is the closing `\"` of the string on line {line} missing?"
                ))
        }
        None => diagnostic.help(syntax_help(text, span, &expected)),
    }
}

/// From `start` to the end of its line (at least one character).
fn first_line(text: &str, start: usize) -> Span {
    let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    Span::new(start, end.max(start + 1).min(text.len()))
}

/// Rules that try literal tokens of their own (`:`, `=`, `{`) and whose name
/// describes the whole construct, not what comes next inside it.
fn encloses_tokens(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::file | Rule::template | Rule::field | Rule::param | Rule::map | Rule::set
    )
}

/// The span of the word or character at `pos`, so the label underlines what
/// the parser choked on rather than a zero-width point.
fn token_at(text: &str, pos: usize) -> Span {
    let rest = &text[pos..];
    let word_len = rest
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(rest.len(), |(i, _)| i);
    let len = if word_len > 0 {
        word_len
    } else {
        rest.chars().next().map_or(0, char::len_utf8)
    };
    Span::new(pos, pos + len)
}

fn describe_found(text: &str, span: Span) -> String {
    match &text[span.start..span.end] {
        "" => "end of file".to_owned(),
        "\n" | "\r" => "end of line".to_owned(),
        s => format!("`{s}`"),
    }
}

/// What is still open where the text ends.
#[derive(Debug, PartialEq, Eq)]
enum Unclosed {
    /// A string, at the offset of its opening quote.
    String(usize),
    /// A `{`, at its offset.
    Brace(usize),
}

/// Scan strings, comments and braces to the end of `text` and report what
/// is left open: a string (the first one that ran across a line, where the
/// quotes started to pair up wrongly) or else the innermost open brace.
fn unclosed(text: &str) -> Option<Unclosed> {
    let mut braces = Vec::new();
    let mut string: Option<usize> = None;
    let mut first_multiline = None;
    let mut escaped = false;
    let mut comment = false;
    for (offset, c) in text.char_indices() {
        if comment {
            comment = c != '\n';
        } else if let Some(start) = string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => string = None,
                '\n' => {
                    first_multiline.get_or_insert(start);
                }
                _ => {}
            }
        } else {
            match c {
                '"' => string = Some(offset),
                '#' => comment = true,
                '{' => braces.push(offset),
                '}' => {
                    braces.pop();
                }
                _ => {}
            }
        }
    }
    match string {
        Some(start) => Some(Unclosed::String(first_multiline.unwrap_or(start))),
        None => braces.pop().map(Unclosed::Brace),
    }
}

/// A clearer error than "found end of file" when a string or brace was never closed.
fn unclosed_at_end(text: &str) -> Option<TemplateDiagnostic> {
    match unclosed(text)? {
        Unclosed::String(start) => {
            // Underline the string's first line: where the closing quote belongs.
            Some(
                TemplateDiagnostic::error(
                    Code::Syntax,
                    first_line(text, start),
                    "unterminated string: the file ends inside it",
                )
                .label("this string is never closed")
                .help(
                    "add the closing `\"` at the end of the line; a quote inside a string is written `\\\"`",
                ),
            )
        }
        Unclosed::Brace(start) => Some(
            TemplateDiagnostic::error(
                Code::Syntax,
                Span::new(start, start + 1),
                "unclosed `{`: the file ends before its `}`",
            )
            .label("this `{` is never closed")
            .help("add the missing `}` after the last statement it holds"),
        ),
    }
}

/// Statement keywords, for suggestions.
const STATEMENTS: &[&str] = &[
    "function", "wrap", "param", "field", "rule", "unique", "policy", "batch", "returns", "map", "set",
    "exclude", "lookup", "sync", "update", "create", "scope", "missing", "steps",
];

/// Field options, for suggestions.
const FIELD_OPTIONS: &[&str] = &["required", "default", "min", "max", "length", "pattern", "one_of"];

/// Hints for the mistakes people actually make; `expected` is what the
/// parser would have accepted. Always says something.
fn syntax_help(text: &str, span: Span, expected: &[String]) -> String {
    let found = &text[span.start..span.end];
    let before = text[..span.start].trim_end();
    let expects = |name: &str| expected.iter().any(|e| e == name);
    let statement_expected = expects("`field`");
    if found == "'" {
        return "strings use double quotes: \"like this\"".to_owned();
    }
    if found == "=" && statement_expected && before.ends_with(|c: char| c.is_alphanumeric()) {
        return "field defaults are written `default VALUE`, e.g. `field roleid: int default 5`".to_owned();
    }
    if expects("`:`") {
        let keyword = before
            .trim_end_matches(|c: char| c.is_alphanumeric() || c == '_')
            .trim_end();
        if keyword.ends_with("param") {
            return "params are declared `param NAME: TYPE = VALUE`, e.g. `param roleid: role = student`"
                .to_owned();
        }
        return "fields are declared `field NAME: TYPE`, e.g. `field courseid: int required`".to_owned();
    }
    let is_word = found.starts_with(|c: char| c.is_alphabetic() || c == '_');
    if is_word && statement_expected {
        let mut candidates: Vec<&str> = STATEMENTS.to_vec();
        if expected.iter().any(|e| e.starts_with("a field option")) {
            candidates.extend(FIELD_OPTIONS);
        }
        if let Some(best) = closest(found, &candidates) {
            return format!("did you mean `{best}`?");
        }
        return format!("each statement starts with one of: {}", STATEMENTS.join(", "));
    }
    if expects("`{`") && found != "{" {
        return "a template's statements go in braces: `template NAME \"doc\" { ... }`".to_owned();
    }
    if expects("a name") && before.ends_with("template") {
        return "a template starts `template NAME [extends BASE] [\"doc\"] {`, e.g. `template enrol_students \"Enrol students\" {`".to_owned();
    }
    if expects("a name") {
        return "names are letters, digits and `_`, starting with a letter or `_`".to_owned();
    }
    if statement_expected {
        return format!("each statement starts with one of: {}", STATEMENTS.join(", "));
    }
    "a file holds templates: `template NAME \"doc\" { statements }`".to_owned()
}

/// The candidate a misspelt keyword most likely meant.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|&(distance, c)| distance <= (word.len().max(c.len()) / 3).max(1))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, c)| c)
}

/// The opening quote of the first string before `end` that runs across a line break.
fn multiline_string_before(text: &str, end: usize) -> Option<usize> {
    let mut string: Option<usize> = None;
    let mut escaped = false;
    let mut comment = false;
    for (offset, c) in text[..end].char_indices() {
        if comment {
            comment = c != '\n';
        } else if let Some(start) = string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => string = None,
                '\n' => return Some(start),
                _ => {}
            }
        } else if c == '"' {
            string = Some(offset);
        } else if c == '#' {
            comment = true;
        }
    }
    None
}

fn expected_list(mut names: Vec<&str>) -> String {
    names.sort_unstable();
    names.dedup();
    match names.as_slice() {
        [] => "something else".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Every grammar rule as a reader would name it. Exhaustive on purpose: a new
/// rule must decide how it reads in an error message.
fn describe_rule(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of file",
        Rule::file | Rule::template | Rule::kw_template => "`template`",
        Rule::bom => "a byte order mark",
        Rule::extends | Rule::kw_extends => "`extends`",
        Rule::function
        | Rule::wrap
        | Rule::param
        | Rule::field
        | Rule::record_rule
        | Rule::unique
        | Rule::policy
        | Rule::batch
        | Rule::returns
        | Rule::map
        | Rule::set
        | Rule::exclude
        | Rule::exists
        | Rule::idempotent
        | Rule::options
        | Rule::emits
        | Rule::annotate
        | Rule::keep
        | Rule::join
        | Rule::select
        | Rule::lookup
        | Rule::sync
        | Rule::update
        | Rule::create
        | Rule::scope
        | Rule::missing
        | Rule::steps
        | Rule::statement => "a statement (field, param, rule, ...)",
        Rule::kw_function => "`function`",
        Rule::kw_wrap => "`wrap`",
        Rule::kw_param => "`param`",
        Rule::kw_field => "`field`",
        Rule::field_type | Rule::type_name => "a type",
        Rule::list_type | Rule::kw_list => "`list`",
        Rule::enum_type | Rule::kw_enum => "`enum`",
        Rule::kw_object | Rule::object_type => "`object`",
        Rule::field_option
        | Rule::required
        | Rule::kw_required
        | Rule::default
        | Rule::kw_default
        | Rule::min
        | Rule::kw_min
        | Rule::max
        | Rule::kw_max
        | Rule::length
        | Rule::kw_length
        | Rule::pattern
        | Rule::kw_pattern
        | Rule::one_of
        | Rule::kw_one_of
        | Rule::warn_option
        | Rule::per_call
        | Rule::kw_per_call => {
            "a field option (required, default, min, max, length, pattern, one_of, warn, per_call)"
        }
        Rule::param_ref => "`param.NAME`",
        Rule::length_range => "a range like `1..100`",
        Rule::kw_rule => "`rule`",
        Rule::kw_warn | Rule::warn_rule => "`warn`",
        Rule::kw_unique => "`unique`",
        Rule::ignore_case | Rule::kw_ignore_case => "`ignore_case`",
        Rule::kw_policy => "`policy`",
        Rule::kw_password => "`password`",
        Rule::policy_off | Rule::kw_off => "`off`",
        Rule::policy_when | Rule::kw_when => "`when`",
        Rule::policy_block => "`{`",
        Rule::policy_setting => "a policy setting",
        Rule::kw_batch => "`batch`",
        Rule::batch_setting | Rule::batch_size | Rule::kw_size => "`size`",
        Rule::group_by | Rule::kw_group_by => "`group_by`",
        Rule::max_input_vars | Rule::kw_max_input_vars => "`max_input_vars`",
        Rule::kw_returns => "`returns`",
        Rule::returns_nothing | Rule::kw_nothing => "`nothing`",
        Rule::returns_list => "`list`",
        Rule::returns_object => "`object`",
        Rule::returns_value | Rule::kw_value => "`value`",
        Rule::returns_ok | Rule::kw_ok => "`ok`",
        Rule::kw_map => "`map`",
        Rule::kw_set => "`set`",
        Rule::kw_exclude => "`exclude`",
        Rule::kw_exists => "`exists`",
        Rule::kw_idempotent => "`idempotent`",
        Rule::collect | Rule::kw_collect => "`collect`",
        Rule::kw_into => "`into`",
        Rule::kw_options => "`options`",
        Rule::kw_emits => "`emits`",
        Rule::emits_list => "`list`",
        Rule::emits_object => "`object`",
        Rule::path => "a response path like `courses` or `usergrades.gradeitems`",
        Rule::kw_annotate => "`annotate`",
        Rule::kw_keep => "`keep`",
        Rule::kw_join => "`join`",
        Rule::kw_on => "`on`",
        Rule::join_with | Rule::kw_with => "`with`",
        Rule::join_take | Rule::kw_take => "`take`",
        Rule::kw_select => "`select`",
        Rule::kw_lookup => "`lookup`",
        Rule::kw_by => "`by`",
        Rule::kw_from => "`from`",
        Rule::kw_sync => "`sync`",
        Rule::kw_update => "`update`",
        Rule::update_none | Rule::kw_none => "`none`",
        Rule::kw_create => "`create`",
        Rule::kw_scope => "`scope`",
        Rule::scope_courses | Rule::kw_courses => "`courses`",
        Rule::scope_like | Rule::kw_like => "`like`",
        Rule::scope_equals => "`=`",
        Rule::kw_missing => "`missing`",
        Rule::kw_steps => "`steps`",
        Rule::literal | Rule::word => "a value",
        Rule::boolean => "`true` or `false`",
        Rule::number => "a number",
        Rule::integer => "a whole number",
        Rule::string | Rule::string_inner => "a string",
        Rule::ident | Rule::ident_start | Rule::ident_char => "a name",
        Rule::WHITESPACE | Rule::COMMENT => "whitespace",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<ast::File, TemplateDiagnostic> {
        parse(&Source::new("test.moodle", text))
    }

    #[test]
    fn a_byte_order_mark_may_start_the_file_and_spans_still_point_into_the_text() {
        let text = "\u{feff}template t \"doc\" { function f }";
        let file = parse_str(text).expect("a BOM is accepted");
        let name = &file.templates[0].name;
        assert_eq!(&text[name.span.start..name.span.end], "t");
    }

    #[test]
    fn a_byte_order_mark_elsewhere_is_still_a_syntax_error() {
        let error = parse_str("template t \"doc\" { \u{feff}function f }").unwrap_err();
        assert_eq!(error.code, Code::Syntax);
    }

    #[test]
    fn a_byte_order_mark_is_not_counted_as_a_column() {
        let error = parse_str("\u{feff}template t { functio f }").unwrap_err();
        assert_eq!(error.line_col(), Some((1, 14)));
    }

    #[test]
    fn parses_a_small_template() {
        let file =
            parse_str("template t \"doc\" { function f wrap users\n field x: int required min 1 \"an x\" }")
                .unwrap();
        let template = &file.templates[0];
        assert_eq!(template.name.name, "t");
        assert_eq!(template.doc.as_ref().unwrap().value, "doc");
        assert_eq!(template.items.len(), 3);
        let ast::Item::Field(field) = &template.items[2] else {
            panic!("expected a field, got {:?}", template.items[2]);
        };
        assert_eq!(field.options.len(), 2);
        assert_eq!(field.doc.as_ref().unwrap().value, "an x");
    }

    #[test]
    fn keywords_need_a_word_boundary() {
        let file = parse_str("template t { function f field requiredx: int }").unwrap();
        let ast::Item::Field(field) = &file.templates[0].items[1] else {
            panic!("expected field");
        };
        assert_eq!(field.name.name, "requiredx");
    }

    #[test]
    fn missing_colon_points_at_the_type() {
        let error = parse_str("template t { field x int }").unwrap_err();
        assert_eq!(error.code, Code::Syntax);
        assert_eq!(error.span, Span::new(21, 24), "{error:?}");
    }

    #[test]
    fn parses_the_sync_statements() {
        let file = parse_str(
            "template t extends create_users { sync users by username update none create none\n\
             scope auth = \"manual\" scope email like \"%@x.edu\" scope courses \"A\", \"B\"\n\
             missing suspend update a, b }\n\
             template s { steps t, u }",
        )
        .unwrap();
        let items = &file.templates[0].items;
        let ast::Item::Sync(sync) = &items[0] else {
            panic!("expected sync, got {:?}", items[0]);
        };
        assert_eq!(sync.object.name, "users");
        assert_eq!(sync.key.as_ref().map(|k| k.name.as_str()), Some("username"));
        assert!(matches!(&items[1], ast::Item::Update(u) if u.fields.is_empty()));
        assert!(matches!(&items[2], ast::Item::CreateNone(_)));
        assert!(matches!(
            &items[3],
            ast::Item::Scope(ast::ScopeDecl { rule: ast::ScopeExpr::Equals { field, .. }, .. }) if field.name == "auth"
        ));
        assert!(matches!(
            &items[4],
            ast::Item::Scope(ast::ScopeDecl { rule: ast::ScopeExpr::Like { pattern, .. }, .. }) if pattern.value == "%@x.edu"
        ));
        assert!(matches!(
            &items[5],
            ast::Item::Scope(ast::ScopeDecl { rule: ast::ScopeExpr::Courses(courses), .. }) if courses.len() == 2
        ));
        assert!(matches!(&items[6], ast::Item::Missing(m) if m.policy.name == "suspend"));
        assert!(matches!(&items[7], ast::Item::Update(u) if u.fields.len() == 2));
        assert!(matches!(&file.templates[1].items[0], ast::Item::Steps(list) if list.names.len() == 2));
    }

    #[test]
    fn create_takes_only_none() {
        let error = parse_str("template t { create all }").unwrap_err();
        assert_eq!(error.code, Code::Syntax);
        assert!(error.message.contains("`none`"), "{}", error.message);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("template t {{ field x: {} }}", "list { field y: ".repeat(5000));
        let error = parse_str(&text).unwrap_err();
        assert_eq!(error.code, Code::Syntax);
    }
}
