//! A minimal left-aligned text table: columns two spaces apart, the last one unpadded. Every
//! cell is escaped (see [`crate::escape`]): table cells are server text.

use std::io::{self, Write};

use crate::escape::{Printable, escape, escaped_width};

/// Rows of cells under a header.
#[derive(Debug)]
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings.
    pub(crate) fn new(headers: &[&str]) -> Self {
        Self {
            rows: vec![headers.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    /// Appends a row (missing cells render empty), escaping its cells.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| match escape(&c) {
                    std::borrow::Cow::Borrowed(_) => c,
                    std::borrow::Cow::Owned(escaped) => escaped,
                })
                .collect(),
        );
    }

    /// Whether only the header is there.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.len() <= 1
    }

    /// The table as lines of text, each ending in `\n`.
    pub(crate) fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map_or("", String::as_str);
                if i + 1 == columns {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    let pad = width - cell.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Writes one row of a streamed table: each cell escaped, padded to `widths` (the last cell
/// unpadded), trailing blanks trimmed. `widths` are escaped widths (see
/// [`escaped_width`]); a row with fewer cells leaves the rest empty.
pub(crate) fn write_row(out: &mut dyn Write, widths: &[usize], cells: &[&str]) -> io::Result<()> {
    let last = cells.iter().rposition(|c| !c.is_empty());
    for (i, cell) in cells.iter().enumerate() {
        if Some(i) > last {
            break;
        }
        write!(out, "{}", Printable(cell))?;
        if Some(i) != last {
            let pad = widths
                .get(i)
                .copied()
                .unwrap_or(0)
                .saturating_sub(escaped_width(cell))
                + 2;
            write!(out, "{:pad$}", "")?;
        }
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let mut t = Table::new(&["CHANNEL", "N"]);
        assert!(t.is_empty());
        t.row(vec!["a".into(), "1".into()]);
        t.row(vec!["lobby-é".into(), "20".into()]);
        assert_eq!(t.render(), "CHANNEL  N\na        1\nlobby-é  20\n");
    }

    #[test]
    fn cells_are_escaped() {
        let mut t = Table::new(&["USER"]);
        t.row(vec!["\u{1b}[2Jbob\r\n".into()]);
        assert_eq!(t.render(), "USER\n\\u{1b}[2Jbob\\r\\n\n");
        let mut out = Vec::new();
        write_row(&mut out, &[4, 3], &["a\u{7}", "b", ""]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a\\u{7}  b\n");
    }
}
