//! Writing CSV cells that a spreadsheet cannot turn against its reader.
//!
//! Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` as a
//! formula (`=HYPERLINK(…)`, `=cmd|…`), and a tab or carriage return at the start hides such a
//! formula from a quick look: user-chosen text (a name, a note, an order number someone typed)
//! in such a cell gets a leading `'`, so it shows as the text it is. A plain number (`-12.30`,
//! a refund) is left alone: it is a number, not a formula. Long digit strings (bank account
//! numbers) would become `6.22202E+18` and lose their last digits: [`Cell::Digits`] writes
//! them as `="6222…"`, a formula of one string literal that every spreadsheet shows as that
//! text; only digits (and the spaces or dashes banks group them with) are ever written so.
//! Every field is quoted, quotes inside doubled (RFC 4180).

use std::borrow::Cow;

/// One cell of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Text from anywhere: neutralised if a spreadsheet would read it as a formula.
    Text(String),
    /// A number that must stay text (an account number): kept whole, never in scientific
    /// notation. Anything but digits, spaces and dashes is written as [`Cell::Text`].
    Digits(String),
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Text(text)
    }
}

/// `text` as a spreadsheet must show it: with a leading `'` when it would start a formula.
pub fn neutralised(text: &str) -> Cow<'_, str> {
    let starts_formula = text
        .chars()
        .next()
        .is_some_and(|first| matches!(first, '=' | '+' | '-' | '@' | '\t' | '\r' | '\n'));
    if starts_formula && !is_plain_number(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// `-12.30`, `+5`, `42`: a signed decimal, which a spreadsheet reads as a number.
fn is_plain_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// What the cell holds once written, before quoting.
fn content(cell: &Cell) -> Cow<'_, str> {
    match cell {
        Cell::Text(text) => neutralised(text),
        Cell::Digits(number) => {
            let digits_only =
                !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit() || b == b' ' || b == b'-');
            if digits_only && number.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
                Cow::Owned(format!("=\"{number}\""))
            } else {
                neutralised(number)
            }
        }
    }
}

/// Appends one row (CRLF-terminated) of quoted, neutralised cells to `out`.
pub fn write_row<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a Cell>) {
    for (index, cell) in cells.into_iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(&content(cell).replace('"', "\"\""));
        out.push('"');
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[Cell]) -> String {
        let mut out = String::new();
        write_row(&mut out, cells);
        out
    }

    #[test]
    fn formulas_from_users_are_shown_as_text() {
        for dangerous in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(neutralised(dangerous), format!("'{dangerous}"), "{dangerous:?}");
        }
        assert_eq!(
            row(&[Cell::Text("=1+1".into()), Cell::Text("三旺村".into())]),
            "\"'=1+1\",\"三旺村\"\r\n"
        );
    }

    #[test]
    fn plain_text_and_numbers_are_left_alone() {
        for harmless in ["三旺村百合", "12.50", "-12.30", "+5", "0", "a=b", ""] {
            assert_eq!(neutralised(harmless), harmless, "{harmless:?}");
        }
        assert_eq!(neutralised("-"), "'-");
        assert_eq!(neutralised("-1e5"), "'-1e5");
    }

    #[test]
    fn account_numbers_stay_whole_digits() {
        assert_eq!(
            row(&[Cell::Digits("6222021234567890123".into())]),
            "\"=\"\"6222021234567890123\"\"\"\r\n"
        );
        assert_eq!(
            row(&[Cell::Digits("6222 0212 3456".into())]),
            "\"=\"\"6222 0212 3456\"\"\"\r\n"
        );
        // Anything else in the field is text like any other.
        assert_eq!(row(&[Cell::Digits("=1+2".into())]), "\"'=1+2\"\r\n");
        assert_eq!(row(&[Cell::Digits("12\"+x".into())]), "\"12\"\"+x\"\r\n");
        assert_eq!(row(&[Cell::Digits(String::new())]), "\"\"\r\n");
    }

    #[test]
    fn quotes_are_doubled() {
        assert_eq!(row(&[Cell::Text("a \"b\", c".into())]), "\"a \"\"b\"\", c\"\r\n");
    }
}
