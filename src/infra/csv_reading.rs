//! Reading a spreadsheet people upload as CSV: UTF-8 with or without a byte-order mark (Excel
//! writes one), cells trimmed, rows of any length (a short row is the caller's to name), columns
//! found by their header in any order and case. What cannot be read is an `INVALID_CSV`
//! user error on the `csv` field.

use crate::infra::error::UserError;
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;

/// A reader over an uploaded text, and where each expected column stands in its header row.
pub type Opened<'a, const N: usize> = (csv::Reader<&'a [u8]>, [usize; N]);

/// A reader over `text`, and where each of `columns` (a name and its other spellings) stands in
/// its header row; every column missing is named.
pub fn open<'a, const N: usize>(text: &'a str, columns: [(&str, &[&str]); N]) -> Result<Opened<'a, N>, Vec<UserError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(error) => return Err(vec![unreadable(&error)]),
    };
    let mut positions = [0usize; N];
    let mut missing = Vec::new();
    for (slot, (column, aliases)) in positions.iter_mut().zip(columns) {
        match headers
            .iter()
            .position(|header| header.eq_ignore_ascii_case(column) || aliases.contains(&header))
        {
            Some(position) => *slot = position,
            None => missing.push(
                UserError::new(
                    ErrorCode::InvalidCsv,
                    Message::new("csv-missing-column").with("column", column),
                )
                .on_field(&["csv"]),
            ),
        }
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok((reader, positions))
}

/// A record (or the header) that is not CSV, named by its line.
pub fn unreadable(error: &csv::Error) -> UserError {
    let line = error.position().map_or(0, csv::Position::line);
    UserError::new(ErrorCode::InvalidCsv, Message::new("csv-unreadable").with("line", line)).on_field(&["csv"])
}
