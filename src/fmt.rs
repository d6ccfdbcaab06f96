//! `moodlec fmt`: canonical formatting of template files.
//!
//! The formatter prints the syntax tree, not the text: every node has one
//! canonical spelling, so two files with the same tree and comments format
//! the same, and formatting twice changes nothing.
//!
//! The canonical style:
//!
//! ```text
//! # A leading comment stays above its statement.
//! template enrol_users extends base "Doc" {
//!   function enrol_manual_enrol_users
//!   wrap enrolments
//!
//!   field roleid: int default param.roleid min 1 "Role"
//!   field userid: int required                   "User"
//!   field extra: list {
//!     field name: text required
//!   } "Nested fields"
//!   rule "timeend > timestart" "timeend must be after timestart"  # trailing
//!   batch size 100 group_by courseid
//! }
//! ```
//!
//! Two spaces of indentation, one statement per line, options in source
//! order, doc strings last. A run of one-line fields (not broken by a blank
//! line) is aligned in columns: names, then doc strings. At most one blank
//! line is kept where the source had any; templates are always separated by
//! one. Long `rule`s put their message on a continuation line, long
//! `one_of`/`enum` lists put one value per line.
//!
//! Comments are not in the tree. They are found again in the text and
//! re-attached by position: a comment on the line where a statement ends
//! trails that statement, a comment after `{` on its line trails the `{`,
//! any other comment goes on its own line before the next statement of its
//! block (or before the `}` if nothing follows). A comment in the middle of
//! a statement moves above that statement: no comment is ever dropped.

use crate::diagnostic::{Source, TemplateDiagnostic};
use crate::span::Span;
use crate::syntax::ast::{
    BatchSetting, DefaultValue, EmitTarget, FieldDecl, FieldOption, File, Item, LengthRange, Literal,
    LiteralValue, PolicyDecl, PolicySetting, ReturnShape, ReturnsDecl, RuleDecl, ScopeExpr, TemplateDecl,
    TypeExpr,
};
use crate::syntax::comments::{code_chars, comments, Comment};
use crate::syntax::escape;

/// One level of indentation.
const INDENT: &str = "  ";
/// A `rule` whose one-line form is wider than this puts its message on a
/// continuation line (the built-in templates do so by hand).
const MAX_WIDTH: usize = 100;
/// A `one_of [...]` or `enum(...)` list wider than this gets one value per
/// line, so a long list of choices stays reviewable in diffs.
const MAX_LIST_WIDTH: usize = 60;

/// The canonical text of a template file, comments kept.
///
/// The result parses to the same tree as `source` (spans aside) and is its
/// own canonical text. An empty file (no templates, no comments) formats to
/// the empty string; anything else ends with exactly one newline.
///
/// # Errors
/// The syntax error if the file does not parse.
// The crate reports every template problem as a `TemplateDiagnostic` by
// value (as `syntax::parse` does); boxing it here alone would buy nothing.
#[allow(clippy::result_large_err)]
pub fn format_source(source: &Source) -> Result<String, TemplateDiagnostic> {
    let file = crate::syntax::parse(source)?;
    Ok(Printer::new(&source.text).file(&file))
}

/// Something printed on its own line(s) inside a block, with comments around it.
#[derive(Clone, Copy)]
enum Entry<'a> {
    Template(&'a TemplateDecl),
    Item(&'a Item),
    Field(&'a FieldDecl),
    Setting(&'a PolicySetting),
}

/// A sequence of entries: the file, a template body, a `list { }` type, a
/// `returns` shape or a policy block.
struct Block<'a> {
    entries: Vec<Entry<'a>>,
    /// The text between the braces (the whole text for the file).
    inner: Span,
    /// Opened by `{`, so a comment on that line can stay there.
    braced: bool,
    /// Always a blank line between entries (templates in a file).
    separate: bool,
    /// Indentation depth of the entries.
    depth: usize,
}

/// A comment on its own line, and whether a blank line goes before it.
struct Placed<'c> {
    comment: &'c Comment,
    blank: bool,
}

/// The comments around one entry.
struct Slot<'c> {
    leading: Vec<Placed<'c>>,
    /// A blank line between the leading comments and the entry.
    blank: bool,
    /// The comment on the line where the entry ends.
    trailing: Option<&'c Comment>,
}

/// Where each comment of a block goes.
#[derive(Default)]
struct Layout<'c> {
    /// The comment on the line of the opening `{`.
    header: Option<&'c Comment>,
    slots: Vec<Slot<'c>>,
    /// Comments after the last entry.
    end: Vec<Placed<'c>>,
}

/// An entry's text: fields keep their columns apart so a run of them can be
/// aligned; everything else is final. Lines after the first carry their own
/// indentation; the first gets the block's.
enum Rendered {
    Field(FieldParts),
    Text(String),
}

/// `field NAME:`, then type and options, then the doc string.
struct FieldParts {
    head: String,
    body: String,
    doc: Option<String>,
}

impl FieldParts {
    /// Whether the field fits on one line and so can join an aligned run.
    fn is_one_line(&self) -> bool {
        !self.body.contains('\n')
    }

    /// The field's text, padded to the run's column widths.
    fn text(&self, widths: Option<(usize, usize)>) -> String {
        let (head_width, body_width) = widths.unwrap_or((0, 0));
        match &self.doc {
            Some(doc) => format!("{:head_width$} {:body_width$} {doc}", self.head, self.body),
            None => format!("{:head_width$} {}", self.head, self.body),
        }
    }
}

/// Prints a parsed file, consulting the source text only for comments, blank
/// lines and the braces the tree has no spans for.
struct Printer<'a> {
    text: &'a str,
    comments: Vec<Comment>,
    /// Code characters that are not whitespace, by offset.
    code: Vec<(usize, char)>,
}

impl<'a> Printer<'a> {
    fn new(text: &'a str) -> Self {
        let code = code_chars(text)
            .into_iter()
            .filter(|&(_, c)| !matches!(c, ' ' | '\t' | '\r' | '\n'))
            .collect();
        Printer {
            text,
            comments: comments(text),
            code,
        }
    }

    fn file(&self, file: &File) -> String {
        let block = Block {
            entries: file.templates.iter().map(Entry::Template).collect(),
            inner: Span::new(0, self.text.len()),
            braced: false,
            separate: true,
            depth: 0,
        };
        let (_, lines) = self.block_lines(&block);
        if lines.is_empty() {
            return String::new();
        }
        lines.join("\n") + "\n"
    }

    // ---- comments and blank lines ------------------------------------------------

    /// The comments starting in `[start, end)`.
    fn comments_in(&self, start: usize, end: usize) -> &[Comment] {
        let from = self.comments.partition_point(|c| c.span.start < start);
        let to = self.comments.partition_point(|c| c.span.start < end);
        &self.comments[from..to.max(from)]
    }

    /// Whether the source has an empty line between `from` and `to`.
    fn blank_between(&self, from: usize, to: usize) -> bool {
        self.text[from..to].matches('\n').nth(1).is_some()
    }

    /// Decide where every comment between the entries of `block` goes.
    fn layout(&self, block: &Block<'_>) -> Layout<'_> {
        let mut layout = Layout::default();
        let mut cursor = block.inner.start;
        for entry in &block.entries {
            let span = self.entry_span(*entry);
            let leading = self.place_gap(&mut layout, &mut cursor, span.start, block.braced);
            let blank = self.blank_between(cursor, span.start);
            layout.slots.push(Slot {
                leading,
                blank,
                trailing: None,
            });
            cursor = span.end;
        }
        layout.end = self.place_gap(&mut layout, &mut cursor, block.inner.end, block.braced);
        layout.normalize_blanks(block.separate);
        layout
    }

    /// Place the comments from `cursor` to `until`: one on the cursor's line
    /// trails the previous entry (or the opening `{`); the rest stand on
    /// their own lines before whatever follows, and are returned.
    fn place_gap<'c>(
        &'c self,
        layout: &mut Layout<'c>,
        cursor: &mut usize,
        until: usize,
        braced: bool,
    ) -> Vec<Placed<'c>> {
        let mut placed = Vec::new();
        for comment in self.comments_in(*cursor, until) {
            let same_line = !self.text[*cursor..comment.span.start].contains('\n');
            if same_line {
                if let Some(slot) = layout.slots.last_mut() {
                    slot.trailing = Some(comment);
                    *cursor = comment.span.end;
                    continue;
                }
                if braced {
                    layout.header = Some(comment);
                    *cursor = comment.span.end;
                    continue;
                }
            }
            let blank = self.blank_between(*cursor, comment.span.start);
            placed.push(Placed { comment, blank });
            *cursor = comment.span.end;
        }
        placed
    }

    /// Comments inside an entry's span that no nested block claims: they
    /// move above the entry, as they cannot stay inside a canonical line.
    fn inner_comments(&self, entry: Entry<'_>) -> Vec<&Comment> {
        let span = self.entry_span(entry);
        let nested = self.nested_regions(entry);
        self.comments_in(span.start, span.end)
            .iter()
            .filter(|c| {
                !nested
                    .iter()
                    .any(|r| r.start <= c.span.start && c.span.start < r.end)
            })
            .collect()
    }

    // ---- spans the tree does not carry --------------------------------------------

    /// The whole entry, without trailing whitespace and comments.
    fn entry_span(&self, entry: Entry<'_>) -> Span {
        self.trim(self.raw_entry_span(entry))
    }

    /// `span` without the whitespace and comments it ends with. Pest's spans
    /// of rules ending in `x*` or `x?` take in the whitespace (and comments)
    /// skipped before trying `x` once more, and such a comment belongs after
    /// the statement, not inside it.
    fn trim(&self, span: Span) -> Span {
        let mut end = span.end;
        loop {
            end = span.start
                + self.text[span.start..end]
                    .trim_end_matches([' ', '\t', '\r', '\n'])
                    .len();
            match self.comments_in(span.start, end).last() {
                Some(comment) if comment.span.end == end => end = comment.span.start,
                _ => return Span::new(span.start, end),
            }
        }
    }

    /// The entry as the tree spans it. `function` and `wrap` items span only
    /// their name, so their keyword is found as the code just before it.
    fn raw_entry_span(&self, entry: Entry<'_>) -> Span {
        match entry {
            Entry::Template(t) => t.span,
            Entry::Field(f) => f.span,
            Entry::Setting(s) => s.span,
            Entry::Item(item @ (Item::Function(name) | Item::Wrap(name))) => {
                let keyword = if matches!(item, Item::Function(_)) {
                    "function"
                } else {
                    "wrap"
                };
                let before = self.code.partition_point(|&(offset, _)| offset < name.span.start);
                let start = before
                    .checked_sub(1)
                    .map_or(name.span.start, |i| self.code[i].0 + 1 - keyword.len());
                Span::new(start, name.span.end)
            }
            Entry::Item(item) => item.span(),
        }
    }

    /// The text between the braces of the `{ }` block that starts in `span`
    /// and ends it, if there is one.
    fn braces(&self, span: Span) -> Option<Span> {
        let from = self.code.partition_point(|&(offset, _)| offset < span.start);
        let open = self.code[from..]
            .iter()
            .take_while(|&&(offset, _)| offset < span.end)
            .find(|&&(_, c)| c == '{')?;
        Some(Span::new(open.0 + 1, span.end - 1))
    }

    /// The regions of blocks nested in an entry, whose comments are theirs.
    fn nested_regions(&self, entry: Entry<'_>) -> Vec<Span> {
        let span = match entry {
            Entry::Template(t) => Some(t.span),
            Entry::Field(f) | Entry::Item(Item::Field(f)) => list_span(f),
            Entry::Item(Item::Returns(r)) => Some(r.span),
            Entry::Item(Item::Options(o)) => Some(o.span),
            Entry::Item(Item::Policy(p)) => Some(self.trim(p.span)),
            Entry::Item(_) | Entry::Setting(_) => None,
        };
        span.and_then(|s| self.braces(s)).into_iter().collect()
    }

    // ---- blocks -----------------------------------------------------------------

    /// The lines of a block's entries and comments, indented, and the
    /// comment that stays on the line of its `{`.
    fn block_lines(&self, block: &Block<'_>) -> (Option<&Comment>, Vec<String>) {
        let mut layout = self.layout(block);
        let entries = sync_last(&block.entries, &mut layout, block.separate);
        let rendered: Vec<Rendered> = entries.iter().map(|e| self.entry(*e, block.depth)).collect();
        let widths = column_widths(&layout, &rendered);
        let indent = INDENT.repeat(block.depth);
        let mut lines = Vec::new();
        for (i, slot) in layout.slots.iter().enumerate() {
            push_placed(&mut lines, &slot.leading, &indent);
            if slot.blank {
                lines.push(String::new());
            }
            let inner = self.inner_comments(entries[i]);
            lines.extend(inner.iter().map(|c| format!("{indent}{}", c.text)));
            let text = match &rendered[i] {
                Rendered::Field(parts) => parts.text(widths[i]),
                Rendered::Text(text) => text.clone(),
            };
            lines.push(format!("{indent}{text}"));
            if let (Some(comment), Some(last)) = (slot.trailing, lines.last_mut()) {
                append_comment(last, comment);
            }
        }
        push_placed(&mut lines, &layout.end, &indent);
        // A multi-line entry is one element with newlines; split so callers see lines.
        let lines = lines
            .iter()
            .flat_map(|l| l.split('\n'))
            .map(str::to_owned)
            .collect();
        (layout.header, lines)
    }

    /// The text after a `{`: the block's lines, then the closing `}` at the
    /// opener's depth. `{}` when the block is empty.
    fn braced_block(&self, entries: Vec<Entry<'_>>, inner: Span, depth: usize) -> String {
        let block = Block {
            entries,
            inner,
            braced: true,
            separate: false,
            depth,
        };
        let (header, lines) = self.block_lines(&block);
        let mut out = String::new();
        if let Some(comment) = header {
            append_comment(&mut out, comment);
        } else if lines.is_empty() {
            return "}".to_owned();
        }
        for line in lines {
            out.push('\n');
            out.push_str(&line);
        }
        out.push('\n');
        out.push_str(&INDENT.repeat(depth - 1));
        out.push('}');
        out
    }

    /// `{ fields }` for a nested field list whose block spans `span`.
    fn fields_block(&self, fields: &[FieldDecl], span: Span, depth: usize) -> String {
        let inner = self
            .braces(span)
            .expect("the grammar puts braces around a field list");
        self.braced_block(fields.iter().map(Entry::Field).collect(), inner, depth)
    }

    // ---- entries ------------------------------------------------------------------

    fn entry(&self, entry: Entry<'_>, depth: usize) -> Rendered {
        match entry {
            Entry::Template(t) => Rendered::Text(self.template(t, depth)),
            Entry::Field(f) | Entry::Item(Item::Field(f)) => Rendered::Field(self.field(f, depth)),
            Entry::Item(item) => Rendered::Text(self.item(item, depth)),
            Entry::Setting(s) => Rendered::Text(format!("{} {}", s.name.name, s.value)),
        }
    }

    fn template(&self, t: &TemplateDecl, depth: usize) -> String {
        let mut head = format!("template {}", t.name.name);
        if let Some(base) = &t.base {
            head.push_str(" extends ");
            head.push_str(&base.name);
        }
        if let Some(doc) = &t.doc {
            head.push(' ');
            head.push_str(&quote(&doc.value));
        }
        let inner = self
            .braces(t.span)
            .expect("the grammar puts braces around a template body");
        let body = self.braced_block(t.items.iter().map(Entry::Item).collect(), inner, depth + 1);
        format!("{head} {{{body}")
    }

    /// Every statement but `field`, which is aligned with its neighbours.
    fn item(&self, item: &Item, depth: usize) -> String {
        match item {
            Item::Function(name) => format!("function {}", name.name),
            Item::Wrap(name) => format!("wrap {}", name.name),
            Item::Param(p) => {
                let mut text = format!("param {}: {}", p.name.name, p.ty.name);
                if let Some(value) = &p.default {
                    text.push_str(" = ");
                    text.push_str(&literal(value));
                }
                push_doc(&mut text, p.doc.as_ref().map(|d| d.value.as_str()));
                text
            }
            Item::Field(f) => self.field(f, depth).text(None),
            Item::Rule(r) => rule(r, depth),
            Item::Unique(u) => {
                let case = if u.ignore_case { " ignore_case" } else { "" };
                format!("unique {}{case}", names(&u.fields))
            }
            Item::Policy(p) => self.policy(p, depth),
            Item::Batch(b) => batch(&b.settings),
            Item::Returns(r) => self.returns(r, depth),
            Item::Map(m) => format!("map {} = {}", m.field.name, quote(&m.template.value)),
            Item::Set(s) => format!("set {} = {}", s.field.name, literal(&s.value)),
            Item::Exclude(e) => format!("exclude {}", column_names(&e.keys)),
            Item::Exists(e) => format!("exists {} {}", e.function.name, e.field.name),
            Item::Idempotent(_) => "idempotent".to_owned(),
            Item::Options(o) => format!(
                "options {}({}, {}) {{{}",
                o.list.name,
                o.key.name,
                o.value.name,
                self.fields_block(&o.fields, o.span, depth + 1)
            ),
            Item::Emits(e) => match &e.target {
                EmitTarget::List => "emits list".to_owned(),
                EmitTarget::Object => "emits object".to_owned(),
                EmitTarget::Path(path) => {
                    let path: Vec<&str> = path.iter().map(|p| p.name.as_str()).collect();
                    format!("emits {}", path.join("."))
                }
            },
            Item::Annotate(list) => format!("annotate {}", names(&list.names)),
            Item::Select(list) => format!("select {}", names(&list.names)),
            Item::Keep(k) => format!("keep {}", quote(&k.expr.value)),
            Item::Join(j) => {
                let mut text = format!("join {} on {} = {}", j.template.name, j.local.name, j.remote.name);
                for input in &j.with {
                    text.push_str(&format!(" with {} = {}", input.name.name, literal(&input.value)));
                }
                if !j.take.is_empty() {
                    text.push_str(&format!(" take {}", names(&j.take)));
                }
                text
            }
            Item::Lookup(l) => format!(
                "lookup {} = {} by {} from {}",
                l.field.name,
                l.kind.name,
                l.key.name,
                quote(&l.from.value)
            ),
            Item::Sync(s) => match &s.key {
                Some(key) => format!("sync {} by {}", s.object.name, key.name),
                None => format!("sync {}", s.object.name),
            },
            Item::Update(u) if u.fields.is_empty() => "update none".to_owned(),
            Item::Update(u) => format!("update {}", names(&u.fields)),
            Item::CreateNone(_) => "create none".to_owned(),
            Item::Scope(s) => match &s.rule {
                ScopeExpr::Equals { field, value } => format!("scope {} = {}", field.name, literal(value)),
                ScopeExpr::Like { field, pattern } => {
                    format!("scope {} like {}", field.name, quote(&pattern.value))
                }
                ScopeExpr::Courses(courses) => {
                    let courses: Vec<String> = courses.iter().map(|c| quote(&c.value)).collect();
                    format!("scope courses {}", courses.join(", "))
                }
            },
            Item::Missing(m) => format!("missing {}", m.policy.name),
            Item::Steps(list) => format!("steps {}", names(&list.names)),
        }
    }

    fn field(&self, f: &FieldDecl, depth: usize) -> FieldParts {
        let mut body = self.type_text(&f.ty, depth);
        for option in &f.options {
            body.push(' ');
            body.push_str(&option_text(option, depth));
        }
        FieldParts {
            head: format!("field {}:", f.name.name),
            body,
            doc: f.doc.as_ref().map(|d| quote(&d.value)),
        }
    }

    /// A field type; `list object { ... }` is written `list { ... }`, its canonical form.
    fn type_text(&self, ty: &TypeExpr, depth: usize) -> String {
        match ty {
            TypeExpr::Named(name) => name.name.clone(),
            TypeExpr::Enum { values, .. } => {
                let values = values.iter().map(|v| quote(&v.value)).collect();
                bracketed("enum(", values, ")", depth)
            }
            TypeExpr::List { fields, span } => {
                format!("list {{{}", self.fields_block(fields, *span, depth + 1))
            }
            TypeExpr::Object { fields, span } => {
                format!("object {{{}", self.fields_block(fields, *span, depth + 1))
            }
            TypeExpr::Values { inner, .. } => match &**inner {
                TypeExpr::Object { fields, span } => {
                    format!("list {{{}", self.fields_block(fields, *span, depth + 1))
                }
                inner => format!("list {}", self.type_text(inner, depth)),
            },
        }
    }

    /// `policy password`, `policy password off` or `policy password { ... }`.
    /// An empty block is dropped (it means the same as none) unless it holds
    /// comments.
    fn policy(&self, p: &PolicyDecl, depth: usize) -> String {
        if p.off {
            return "policy password off".to_owned();
        }
        let head = match &p.when {
            Some(when) => format!("policy password when {}", quote(&when.value)),
            None => "policy password".to_owned(),
        };
        let Some(inner) = self.braces(self.trim(p.span)) else {
            return head;
        };
        let body = self.braced_block(p.settings.iter().map(Entry::Setting).collect(), inner, depth + 1);
        if body == "}" {
            return head;
        }
        format!("{head} {{{body}")
    }

    fn returns(&self, r: &ReturnsDecl, depth: usize) -> String {
        let (keyword, fields) = match &r.shape {
            ReturnShape::Nothing => return "returns nothing".to_owned(),
            ReturnShape::Value { ty, ok } => {
                return match ok {
                    Some(ok) => format!("returns value {} ok {}", ty.name, literal(ok)),
                    None => format!("returns value {}", ty.name),
                }
            }
            ReturnShape::List(fields) => ("list", fields),
            ReturnShape::Object(fields) => ("object", fields),
        };
        format!(
            "returns {keyword} {{{}",
            self.fields_block(fields, r.span, depth + 1)
        )
    }
}

impl Layout<'_> {
    /// No blank line right after `{` or at the top of the file; templates
    /// are always one blank line apart.
    fn normalize_blanks(&mut self, separate: bool) {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let first = match slot.leading.first_mut() {
                Some(placed) => &mut placed.blank,
                None => &mut slot.blank,
            };
            if i == 0 {
                *first = false;
            } else if separate {
                *first = true;
            }
        }
        if self.slots.is_empty() {
            if let Some(first) = self.end.first_mut() {
                first.blank = false;
            }
        }
    }
}

/// Where a statement goes in a template body: sync statements come after
/// all the others, in this order (`0` for every other statement).
fn sync_rank(entry: &Entry<'_>) -> u8 {
    match entry {
        Entry::Item(Item::Sync(_)) => 1,
        Entry::Item(Item::Update(_)) => 2,
        Entry::Item(Item::CreateNone(_)) => 3,
        Entry::Item(Item::Scope(_)) => 4,
        Entry::Item(Item::Missing(_)) => 5,
        _ => 0,
    }
}

/// The entries in printing order: sync statements moved to the end of a
/// template body, each with its comments; blank lines are normalized again
/// for the new order.
fn sync_last<'a>(entries: &[Entry<'a>], layout: &mut Layout<'_>, separate: bool) -> Vec<Entry<'a>> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| sync_rank(&entries[i]));
    if order.iter().enumerate().all(|(position, &i)| position == i) {
        return entries.to_vec();
    }
    let mut slots: Vec<Option<Slot<'_>>> = std::mem::take(&mut layout.slots).into_iter().map(Some).collect();
    layout.slots = order.iter().filter_map(|&i| slots[i].take()).collect();
    layout.normalize_blanks(separate);
    order.iter().map(|&i| entries[i]).collect()
}

/// The span of a field's `list { }` or `object { }` type (at any depth of
/// `list TYPE`), if it has one.
fn list_span(f: &FieldDecl) -> Option<Span> {
    let mut ty = &f.ty;
    loop {
        match ty {
            TypeExpr::List { span, .. } | TypeExpr::Object { span, .. } => return Some(*span),
            TypeExpr::Values { inner, .. } => ty = inner,
            TypeExpr::Named(_) | TypeExpr::Enum { .. } => return None,
        }
    }
}

/// Column widths for each entry that belongs to an aligned run: consecutive
/// one-line fields with no blank line between them.
fn column_widths(layout: &Layout<'_>, rendered: &[Rendered]) -> Vec<Option<(usize, usize)>> {
    let mut widths = vec![None; rendered.len()];
    let mut start = 0;
    while start < rendered.len() {
        if one_line_field(&rendered[start]).is_none() {
            start += 1;
            continue;
        }
        let mut end = start + 1;
        while end < rendered.len()
            && one_line_field(&rendered[end]).is_some()
            && !layout.slots[end].has_blank()
        {
            end += 1;
        }
        let run: Vec<&FieldParts> = rendered[start..end].iter().filter_map(one_line_field).collect();
        let head = run.iter().map(|p| p.head.chars().count()).max().unwrap_or(0);
        let body = run
            .iter()
            .filter(|p| p.doc.is_some())
            .map(|p| p.body.chars().count())
            .max();
        widths[start..end].fill(Some((head, body.unwrap_or(0))));
        start = end;
    }
    widths
}

fn one_line_field(rendered: &Rendered) -> Option<&FieldParts> {
    match rendered {
        Rendered::Field(parts) if parts.is_one_line() => Some(parts),
        _ => None,
    }
}

impl Slot<'_> {
    /// Whether a blank line separates this entry from the one before.
    fn has_blank(&self) -> bool {
        self.blank || self.leading.iter().any(|p| p.blank)
    }
}

fn push_placed(lines: &mut Vec<String>, placed: &[Placed<'_>], indent: &str) {
    for p in placed {
        if p.blank {
            lines.push(String::new());
        }
        lines.push(format!("{indent}{}", p.comment.text));
    }
}

/// Two spaces, then the comment, at the end of a line.
fn append_comment(line: &mut String, comment: &Comment) {
    line.push_str("  ");
    line.push_str(&comment.text);
}

fn push_doc(text: &mut String, doc: Option<&str>) {
    if let Some(doc) = doc {
        text.push(' ');
        text.push_str(&quote(doc));
    }
}

/// `rule "EXPR" "MESSAGE"`, the message under the expression when too wide.
fn rule(r: &RuleDecl, depth: usize) -> String {
    let expr = quote(&r.expr.value);
    let message = quote(&r.message.value);
    let keyword = if r.warn { "warn rule" } else { "rule" };
    let one_line = format!("{keyword} {expr} {message}");
    if INDENT.len() * depth + one_line.chars().count() <= MAX_WIDTH {
        return one_line;
    }
    let indent = INDENT.repeat(depth);
    let pad = " ".repeat(keyword.len() + 1);
    format!("{keyword} {expr}\n{indent}{pad}{message}")
}

fn batch(settings: &[BatchSetting]) -> String {
    let mut text = "batch".to_owned();
    for setting in settings {
        let part = match setting {
            BatchSetting::Size(n) => format!(" size {}", n.digits),
            BatchSetting::GroupBy(field) => format!(" group_by {}", field.name),
            BatchSetting::MaxInputVars(n) => format!(" max_input_vars {}", n.digits),
            BatchSetting::Collect { field, into } => format!(" collect {} into {}", field.name, into.name),
        };
        text.push_str(&part);
    }
    text
}

fn option_text(option: &FieldOption, depth: usize) -> String {
    match option {
        FieldOption::Required(_) => "required".to_owned(),
        FieldOption::PerCall(_) => "per_call".to_owned(),
        FieldOption::Default(DefaultValue::Literal(value)) => format!("default {}", literal(value)),
        FieldOption::Default(DefaultValue::Param(name)) => format!("default param.{}", name.name),
        FieldOption::Min(value) => format!("min {}", literal(value)),
        FieldOption::Max(value) => format!("max {}", literal(value)),
        FieldOption::Length(range) => format!("length {}", length(range)),
        FieldOption::Pattern(regex) => format!("pattern {}", quote(&regex.value)),
        FieldOption::OneOf { values, .. } => {
            bracketed("one_of [", values.iter().map(literal).collect(), "]", depth)
        }
        FieldOption::Warn(inner) => format!("warn {}", option_text(inner, depth)),
    }
}

fn length(range: &LengthRange) -> String {
    let min = range.min.as_deref().unwrap_or("");
    let max = range.max.as_deref().unwrap_or("");
    format!("{min}..{max}")
}

/// `open a, b close` on one line, or one value per line (with a trailing
/// comma, which the grammar allows) when that is too wide.
fn bracketed(open: &str, values: Vec<String>, close: &str, depth: usize) -> String {
    let one_line = format!("{open}{}{close}", values.join(", "));
    if one_line.chars().count() <= MAX_LIST_WIDTH || values.len() < 2 {
        return one_line;
    }
    let inner = INDENT.repeat(depth + 1);
    let mut text = open.to_owned();
    for value in values {
        text.push_str(&format!("\n{inner}{value},"));
    }
    format!("{text}\n{}{close}", INDENT.repeat(depth))
}

/// A constant as the grammar reads it back: strings escaped, numbers and
/// words as written.
fn literal(value: &Literal) -> String {
    match &value.value {
        LiteralValue::Str(s) => quote(s),
        LiteralValue::Number(n) => n.clone(),
        LiteralValue::Bool(b) => b.to_string(),
        LiteralValue::Word(w) => w.clone(),
    }
}

fn quote(value: &str) -> String {
    format!("\"{}\"", escape(value))
}

/// Source column names: bare when they are identifiers, quoted otherwise (`"Cost centre"`).
fn column_names(idents: &[crate::syntax::ast::Ident]) -> String {
    let is_ident = |name: &str| {
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    idents
        .iter()
        .map(|i| {
            if is_ident(&i.name) {
                i.name.clone()
            } else {
                quote(&i.name)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn names(idents: &[crate::syntax::ast::Ident]) -> String {
    idents
        .iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> String {
        format_source(&Source::new("test.moodle", text)).expect("test input parses")
    }

    /// `input` formats to `expected`, which is its own canonical form and
    /// keeps every comment.
    fn assert_formats(input: &str, expected: &str) {
        let formatted = fmt(input);
        assert_eq!(
            formatted, expected,
            "\n--- got ---\n{formatted}--- want ---\n{expected}"
        );
        assert_eq!(fmt(expected), expected, "not idempotent");
        assert_eq!(
            comments(expected).len(),
            comments(input).len(),
            "a comment was lost"
        );
    }

    #[test]
    fn statements_get_one_line_each_and_fields_align() {
        assert_formats(
            "template t \"Doc\"{function f wrap users param roleid : role=student \"Role\"\n\
             field a:int required \"A\" field longer_name:text length ..100 \"B\"\n\
             field c : bool}",
            "template t \"Doc\" {\n  \
               function f\n  \
               wrap users\n  \
               param roleid: role = student \"Role\"\n  \
               field a:           int required      \"A\"\n  \
               field longer_name: text length ..100 \"B\"\n  \
               field c:           bool\n\
             }\n",
        );
    }

    #[test]
    fn comments_stay_beside_their_statements() {
        assert_formats(
            "# header\n\n\
             template t { # about t\n\
             function f   # the function\n\
             # before wrap\n\
             wrap users\n\
             unique a, b ignore_case # trailing unique\n\
             # end of t\n\
             } # after t\n\
             # end of file\n",
            "# header\n\
             \n\
             template t {  # about t\n  \
               function f  # the function\n  \
               # before wrap\n  \
               wrap users\n  \
               unique a, b ignore_case  # trailing unique\n  \
               # end of t\n\
             }  # after t\n\
             # end of file\n",
        );
    }

    #[test]
    fn comments_inside_a_statement_move_above_it() {
        assert_formats(
            "template t {\n  field e: # what e is\n    int required\n  rule # why\n \"x\" \"m\"\n}\n",
            "template t {\n  # what e is\n  field e: int required\n  # why\n  rule \"x\" \"m\"\n}\n",
        );
    }

    #[test]
    fn nested_lists_are_indented_with_their_comments() {
        assert_formats(
            "template t { field outer: list { # per element\n\
             field c: int required \"c\"\n\
             field inner: list { field d: text\n field ee: bool }\n\
             # end of outer\n\
             } required \"Outer\"\n\
             returns object { field warnings: list { field item: text \"Always\" } } }",
            "template t {\n  \
               field outer: list {  # per element\n    \
                 field c: int required \"c\"\n    \
                 field inner: list {\n      \
                   field d:  text\n      \
                   field ee: bool\n    \
                 }\n    \
                 # end of outer\n  \
               } required \"Outer\"\n  \
               returns object {\n    \
                 field warnings: list {\n      \
                   field item: text \"Always\"\n    \
                 }\n  \
               }\n\
             }\n",
        );
    }

    #[test]
    fn objects_and_lists_of_values_format_at_any_depth() {
        assert_formats(
            "template t { wrap members field cohorttype: object { field type: enum(\"id\", \"idnumber\") default \"id\"\n\
             field value: raw required } required\n\
             field ids: list   int min 1 field tags: list list enum(\"a\")\n\
             field rows: list object { field x: int } field courseid: int required per_call }",
            "template t {\n  \
               wrap members\n  \
               field cohorttype: object {\n    \
                 field type:  enum(\"id\", \"idnumber\") default \"id\"\n    \
                 field value: raw required\n  \
               } required\n  \
               field ids:  list int min 1\n  \
               field tags: list list enum(\"a\")\n  \
               field rows: list {\n    \
                 field x: int\n  \
               }\n  \
               field courseid: int required per_call\n\
             }\n",
        );
    }

    #[test]
    fn strings_keep_their_escapes() {
        assert_formats(
            r#"template t { field a: text pattern "\d+" default "say \"hi\"" "tab\there, a \\ and \w" }"#,
            "template t {\n  field a: text pattern \"\\d+\" default \"say \\\"hi\\\"\" \"tab\\there, a \\ and \\w\"\n}\n",
        );
    }

    #[test]
    fn long_one_of_lists_get_one_value_per_line() {
        assert_formats(
            "template t { field lang: text one_of [\"en\", \"de\", \"fr\", \"pt_br\", \"es\", \"it\", \"nl\", \"sv\", \"fi\"] \"Language\"\n\
             field short: int one_of [0,1,2,] }",
            "template t {\n  \
               field lang: text one_of [\n    \
                 \"en\",\n    \"de\",\n    \"fr\",\n    \"pt_br\",\n    \"es\",\n    \"it\",\n    \"nl\",\n    \"sv\",\n    \"fi\",\n  \
               ] \"Language\"\n  \
               field short: int one_of [0, 1, 2]\n\
             }\n",
        );
    }

    #[test]
    fn long_rules_put_the_message_on_a_continuation_line() {
        let expr =
            "enddate is none or enddate == 0 or startdate is none or startdate == 0 or enddate >= startdate";
        assert_formats(
            &format!("template t {{ rule \"{expr}\" \"enddate must not be before startdate\" rule \"a\" \"b\" }}"),
            &format!(
                "template t {{\n  rule \"{expr}\"\n       \"enddate must not be before startdate\"\n  rule \"a\" \"b\"\n}}\n"
            ),
        );
    }

    #[test]
    fn blank_lines_collapse_to_one_and_templates_are_separated() {
        assert_formats(
            "\n\ntemplate a {\n\n\n  function f\n\n\n\n  # lead\n\n  wrap w\n\n}\ntemplate b extends a {}",
            "template a {\n  function f\n\n  # lead\n\n  wrap w\n}\n\ntemplate b extends a {}\n",
        );
    }

    #[test]
    fn blank_lines_break_field_alignment() {
        assert_formats(
            "template t {\n field a: int \"A\"\n field bbbb: int \"B\"\n\n field cc: text required \"C\"\n}",
            "template t {\n  field a:    int \"A\"\n  field bbbb: int \"B\"\n\n  field cc: text required \"C\"\n}\n",
        );
    }

    #[test]
    fn policy_blocks_batch_and_mappings() {
        assert_formats(
            "template t extends base {\n\
             policy password { min_length 8 # eight\n digits 1 }\n\
             policy password {}\n\
             policy password off\n\
             batch size 100 group_by courseid max_input_vars 1000\n\
             map username = \"{{ email | lower }}\"\n\
             set auth = manual set count = -2.50\n\
             exclude a,b }",
            "template t extends base {\n  \
               policy password {\n    \
                 min_length 8  # eight\n    \
                 digits 1\n  \
               }\n  \
               policy password\n  \
               policy password off\n  \
               batch size 100 group_by courseid max_input_vars 1000\n  \
               map username = \"{{ email | lower }}\"\n  \
               set auth = manual\n  \
               set count = -2.50\n  \
               exclude a, b\n\
             }\n",
        );
    }

    #[test]
    fn sync_statements_go_last_in_their_order_with_their_comments() {
        assert_formats(
            "template t extends create_users {\n\
             missing   suspend # what the roster lacks\n\
             scope email like \"%@x.edu\"\n\
             # owned\n\
             scope auth=manual\n\
             create none\n\
             update firstname,lastname\n\
             sync users by username\n\
             \n\
             map username = \"{{ email }}\"\n\
             }\n\
             template e extends enrol_users { sync enrolments scope courses \"A\",\"B\" update none }\n\
             template s \"Both\" { steps t,e }",
            "template t extends create_users {\n  \
               map username = \"{{ email }}\"\n  \
               sync users by username\n  \
               update firstname, lastname\n  \
               create none\n  \
               scope email like \"%@x.edu\"\n  \
               # owned\n  \
               scope auth = manual\n  \
               missing suspend  # what the roster lacks\n\
             }\n\
             \n\
             template e extends enrol_users {\n  \
               sync enrolments\n  \
               update none\n  \
               scope courses \"A\", \"B\"\n\
             }\n\
             \n\
             template s \"Both\" {\n  \
               steps t, e\n\
             }\n",
        );
    }

    #[test]
    fn an_empty_block_keeps_its_comment() {
        assert_formats(
            "template t { policy password { # nothing yet\n } returns list { # later\n } }",
            "template t {\n  \
               policy password {  # nothing yet\n  \
               }\n  \
               returns list {  # later\n  \
               }\n\
             }\n",
        );
    }

    #[test]
    fn empty_and_comment_only_files() {
        assert_formats("", "");
        assert_formats("  \n\n", "");
        assert_formats(
            "\n# only a comment   \n\n\n# and another",
            "# only a comment\n\n# and another\n",
        );
    }

    /// The style shown in the module documentation is the formatter's own.
    #[test]
    fn module_doc_example_is_canonical() {
        let example: String = include_str!("fmt.rs")
            .lines()
            .skip_while(|line| *line != "//! ```text")
            .skip(1)
            .take_while(|line| *line != "//! ```")
            .map(|line| {
                format!(
                    "{}\n",
                    line.trim_start_matches("//!").strip_prefix(' ').unwrap_or("")
                )
            })
            .collect();
        assert!(example.contains("template"), "example not found");
        assert_eq!(fmt(&example), example);
    }

    #[test]
    fn syntax_errors_are_returned_not_formatted() {
        let error = format_source(&Source::new("bad.moodle", "template t { field x int }")).unwrap_err();
        assert_eq!(error.code, crate::diagnostic::Code::Syntax);
    }
}
