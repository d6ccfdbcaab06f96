//! [`Location`]: where in a file a problem is, in lines and columns.

use std::ops::Range;

/// Where in a file a problem is: 1-based lines and columns (columns count
/// characters), and the byte range within the file when it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub line: u64,
    pub column: u64,
    pub end_line: u64,
    pub end_column: u64,
    /// Byte offsets in the file (known for templates; a record's position in
    /// its file is known by line only).
    pub bytes: Option<Range<usize>>,
}

impl Location {
    /// The location of `range` within `text`, which starts at line
    /// `first_line`, column `first_column` of its file. A range outside
    /// `text` is the start of it.
    pub fn within(
        text: &str,
        (first_line, first_column): (u64, u64),
        range: Option<Range<usize>>,
    ) -> Location {
        let range = range
            .filter(|r| r.start <= r.end && r.end <= text.len())
            .filter(|r| text.is_char_boundary(r.start) && text.is_char_boundary(r.end))
            .unwrap_or(0..0);
        // Columns of the text's first line are counted from where it starts.
        let shift = |line: u64, column: u64| {
            if line == 1 {
                column + first_column.max(1) - 1
            } else {
                column
            }
        };
        let (line, column) = line_column(text, range.start);
        let (end_line, end_column) = line_column(text, range.end);
        Location {
            line: first_line + line - 1,
            column: shift(line, column),
            end_line: first_line + end_line - 1,
            end_column: shift(end_line, end_column),
            bytes: None,
        }
    }
}

/// 1-based line and character column of byte `offset` in `text`; a byte
/// order mark starting the text is not a column.
fn line_column(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let last = before.rsplit('\n').next().unwrap_or("");
    let last = if line == 1 {
        last.trim_start_matches('\u{feff}')
    } else {
        last
    };
    (line as u64, last.chars().count() as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_counts_lines_from_the_first_line_and_columns_in_characters() {
        let text = "{\"a\": \"é\",\n \"userid\": \"x\"}";
        let start = text.find("\"x\"").unwrap();
        let at = Location::within(text, (10, 1), Some(start..start + 3));
        assert_eq!((at.line, at.column, at.end_line, at.end_column), (11, 12, 11, 15));
        let first = Location::within(text, (10, 1), None);
        assert_eq!((first.line, first.column), (10, 1));
        // A text starting mid-line (a JSON array element): its first line's
        // columns are shifted, the others are not.
        let indented = Location::within(text, (10, 3), Some(1..4));
        assert_eq!((indented.line, indented.column, indented.end_column), (10, 4, 7));
        let below = Location::within(text, (10, 3), Some(start..start + 3));
        assert_eq!((below.line, below.column), (11, 12));
    }

    #[test]
    fn a_range_outside_the_text_is_its_start() {
        let at = Location::within("abc", (3, 1), Some(2..9));
        assert_eq!((at.line, at.column), (3, 1));
    }
}
