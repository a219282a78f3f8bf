//! CSV files for people: headers in the reader's language, UTF-8 with a byte-order mark and
//! CRLF line ends, so that Excel on Windows opens them with the Chinese intact (without the
//! mark it reads UTF-8 as the local code page and shows mojibake). Every cell goes through
//! [`crate::infra::csv`], so no export writes a formula a user typed.

use super::{Language, Message};
use crate::infra::csv::{Cell, write_row};

const BYTE_ORDER_MARK: char = '\u{feff}';

/// A CSV being written: its header row is done, rows are added in order.
pub struct Csv {
    text: String,
}

impl Csv {
    /// Starts a file whose columns are headed by these catalogue messages, in `language`.
    pub fn new(language: Language, headers: &[&'static str]) -> Csv {
        let mut csv = Csv {
            text: String::from(BYTE_ORDER_MARK),
        };
        let headers: Vec<String> = headers
            .iter()
            .map(|id| Message::new(id).in_language(language))
            .collect();
        csv.row(&headers);
        csv
    }

    /// Adds a row of text cells (neutralised, quoted: see [`crate::infra::csv`]).
    pub fn row(&mut self, fields: &[String]) {
        let cells: Vec<Cell> = fields.iter().cloned().map(Cell::Text).collect();
        write_row(&mut self.text, &cells);
    }

    /// Adds a row whose cells say how they are written (an account number as digits).
    pub fn cells(&mut self, cells: &[Cell]) {
        write_row(&mut self.text, cells);
    }

    pub fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_starts_with_the_mark_and_headers_in_the_language_asked() {
        let mut csv = Csv::new(Language::En, &["csv-month"]);
        csv.row(&["2026-09 \"mid-autumn\"".to_owned()]);
        let text = csv.finish();
        assert!(text.starts_with('\u{feff}'));
        assert_eq!(text, "\u{feff}\"Month\"\r\n\"2026-09 \"\"mid-autumn\"\"\"\r\n");
        assert!(Csv::new(Language::ZhCn, &["csv-month"]).finish().contains("月份"));
    }
}
