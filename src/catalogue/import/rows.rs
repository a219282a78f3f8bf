//! The district's 目录 list as a CSV file (UTF-8, a header row, a BOM allowed), read into rows
//! whose every value is checked on its own. Columns, in any order:
//!
//! `catalogue_code, product_slug, product_name, category_slug, producer_slug, village_slug,
//! issuer, valid_from, valid_to, variant_sku, variant_name, price, stock`
//!
//! One row is one variant; a product's rows repeat its product columns. `catalogue_code`
//! empty: the product is not listed (its `issuer` and dates are then empty too);
//! `village_slug` empty: the producer's village. Every problem names its row (the CSV's line,
//! the header being row 1) and its column.

use chrono::NaiveDate;

use crate::catalogue::creation::{check_product_name, is_sku};
use crate::catalogue::management::{MAX_NAME_CHARS, MAX_PRICE, MAX_STOCK_DELTA};
use crate::catalogue::onboarding::is_slug;
use crate::infra::csv_reading::{self, unreadable};
use crate::infra::error::UserError;
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::money::Fen;

/// The columns, as the contract names them.
pub const COLUMNS: [&str; 13] = [
    "catalogue_code",
    "product_slug",
    "product_name",
    "category_slug",
    "producer_slug",
    "village_slug",
    "issuer",
    "valid_from",
    "valid_to",
    "variant_sku",
    "variant_name",
    "price",
    "stock",
];

/// Rows one file may hold.
pub const MAX_ROWS: usize = 20_000;

/// A catalogue entry as a row names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryCells {
    pub code: String,
    pub issuer: String,
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
}

/// One checked row.
#[derive(Clone, Debug)]
pub struct Row {
    /// The CSV line it was on (the header is 1).
    pub row: u64,
    pub entry: Option<EntryCells>,
    pub product_slug: String,
    pub product_name: String,
    pub category_slug: String,
    pub producer_slug: String,
    pub village_slug: Option<String>,
    pub sku: String,
    pub variant_name: String,
    pub price: Fen,
    pub stock: i32,
}

/// A problem with `column` of row `row`: the field is `["csv", row, column]`, the message
/// starts with the row and column.
pub fn at(row: u64, column: &str, code: ErrorCode, problem: impl Into<Message>) -> UserError {
    UserError::new(
        code,
        Message::new("csv-row")
            .with("row", row)
            .with("column", column.to_owned())
            .with("problem", problem.into()),
    )
    .on_field(&["csv", &row.to_string(), column])
}

fn invalid(row: u64, column: &str, problem: impl Into<Message>) -> UserError {
    at(row, column, ErrorCode::InvalidInput, problem)
}

/// What a file holds: the rows whose values are right, and each other row's first problem.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<Row>,
    pub problems: Vec<UserError>,
}

/// The rows of `text`; a file that cannot be read as the list at all (no such header, too many
/// rows) is only its problems.
pub fn parse(text: &str) -> Result<Parsed, Vec<UserError>> {
    let (mut reader, positions) = csv_reading::open(text, COLUMNS.map(|column| (column, &[][..])))?;
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                problems.push(unreadable(&error));
                continue;
            }
        };
        if rows.len() + problems.len() >= MAX_ROWS {
            return Err(vec![
                UserError::new(
                    ErrorCode::InvalidCsv,
                    Message::new("import-too-many-rows").with("max", MAX_ROWS),
                )
                .on_field(&["csv"]),
            ]);
        }
        let row = record.position().map_or(0, csv::Position::line);
        let cells = positions.map(|position| record.get(position).unwrap_or(""));
        match check(row, cells) {
            Ok(checked) => rows.push(checked),
            Err(problem) => problems.push(problem),
        }
    }
    if rows.is_empty() && problems.is_empty() {
        return Err(vec![
            UserError::new(ErrorCode::InvalidCsv, "import-no-rows").on_field(&["csv"]),
        ]);
    }
    Ok(Parsed { rows, problems })
}

fn slug(row: u64, column: &str, value: &str) -> Result<String, UserError> {
    if is_slug(value) {
        Ok(value.to_owned())
    } else {
        Err(invalid(row, column, "slug-format"))
    }
}

fn date(row: u64, column: &str, value: &str) -> Result<NaiveDate, UserError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| invalid(row, column, "import-date-format"))
}

/// Checks one row's values on their own; the first problem is reported.
fn check(row: u64, cells: [&str; 13]) -> Result<Row, UserError> {
    let [
        code,
        product_slug,
        product_name,
        category_slug,
        producer_slug,
        village_slug,
        issuer,
        valid_from,
        valid_to,
        sku,
        variant_name,
        price,
        stock,
    ] = cells;
    let entry = if code.is_empty() {
        for (column, value) in [("issuer", issuer), ("valid_from", valid_from), ("valid_to", valid_to)] {
            if !value.is_empty() {
                return Err(invalid(row, column, "import-entry-without-code"));
            }
        }
        None
    } else {
        if code.chars().count() > 40 || code.chars().any(char::is_control) {
            return Err(invalid(row, "catalogue_code", "import-code-format"));
        }
        if issuer.is_empty() || issuer.chars().count() > 100 || issuer.chars().any(char::is_control) {
            return Err(invalid(row, "issuer", "issuer-length"));
        }
        let valid_from = date(row, "valid_from", valid_from)?;
        let valid_to = date(row, "valid_to", valid_to)?;
        if valid_to < valid_from {
            return Err(invalid(row, "valid_to", "valid-to-before-valid-from"));
        }
        Some(EntryCells {
            code: code.to_owned(),
            issuer: issuer.to_owned(),
            valid_from,
            valid_to,
        })
    };
    let product_slug = slug(row, "product_slug", product_slug)?;
    check_product_name(product_name, &[]).map_err(|problem| invalid(row, "product_name", problem.message))?;
    let category_slug = slug(row, "category_slug", category_slug)?;
    let producer_slug = slug(row, "producer_slug", producer_slug)?;
    let village_slug = match village_slug {
        "" => None,
        given => Some(slug(row, "village_slug", given)?),
    };
    if !is_sku(sku) {
        return Err(invalid(row, "variant_sku", "sku-format"));
    }
    if variant_name.is_empty()
        || variant_name.chars().count() > MAX_NAME_CHARS
        || variant_name.chars().any(char::is_control)
    {
        return Err(invalid(
            row,
            "variant_name",
            Message::new("variant-name-length").with("max", MAX_NAME_CHARS),
        ));
    }
    let price = match Fen::parse_yuan(price) {
        Ok(price) if price > Fen::ZERO && price <= MAX_PRICE => price,
        Ok(_) => {
            return Err(invalid(
                row,
                "price",
                Message::new("price-range").with("max", MAX_PRICE),
            ));
        }
        Err(problem) => return Err(invalid(row, "price", problem.message())),
    };
    let stock = match stock.parse::<i32>() {
        Ok(stock) if (0..=MAX_STOCK_DELTA).contains(&stock) => stock,
        _ => {
            return Err(at(
                row,
                "stock",
                ErrorCode::InvalidQuantity,
                Message::new("initial-stock-range").with("max", MAX_STOCK_DELTA),
            ));
        }
    };
    Ok(Row {
        row,
        entry,
        product_slug,
        product_name: product_name.to_owned(),
        category_slug,
        producer_slug,
        village_slug,
        sku: sku.to_owned(),
        variant_name: variant_name.to_owned(),
        price,
        stock,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "catalogue_code,product_slug,product_name,category_slug,producer_slug,village_slug,issuer,valid_from,valid_to,variant_sku,variant_name,price,stock";

    #[test]
    fn a_bom_and_any_column_order_are_read() {
        let text = "\u{feff}stock,price,variant_name,variant_sku,valid_to,valid_from,issuer,village_slug,producer_slug,category_slug,product_name,product_slug,catalogue_code\n\
                    12,39.80,1 斤,XT-1,2027-12-31,2026-01-01,渌口区农业农村局,,xintian-youcha,youcha,\"茶油, 500ml\",xintian-chayou,FK-2026-0100\n";
        let rows = parse(text).map_err(|problems| problems.len()).expect("parses").rows;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].row, 2);
        assert_eq!(rows[0].product_name, "茶油, 500ml");
        assert_eq!(rows[0].price, Fen::new(3_980));
        assert_eq!(rows[0].entry.as_ref().map(|e| e.code.as_str()), Some("FK-2026-0100"));
    }

    #[test]
    fn each_bad_row_is_named_with_its_column() {
        let text = format!(
            "{HEADER}\n\
             ,good-slug,好,youcha,xintian-youcha,,,,,XT-1,1 斤,10.00,1\n\
             ,good-slug,好,youcha,xintian-youcha,,,,,XT-2,1 斤,ten,1\n\
             ,Bad Slug,好,youcha,xintian-youcha,,,,,XT-3,1 斤,10.00,1\n\
             ,good-slug,好,youcha,xintian-youcha,,渌口区,,,XT-4,1 斤,10.00,1\n\
             ,good-slug,好,youcha,xintian-youcha,,,,,XT-5,1 斤,10.00,-3\n"
        );
        let parsed = parse(&text).map_err(|problems| problems.len()).expect("parses");
        assert_eq!(parsed.rows.len(), 1, "the good row");
        let problems = parsed.problems;
        let fields: Vec<_> = problems.iter().map(|p| p.field.clone().unwrap_or_default()).collect();
        assert_eq!(
            fields,
            [
                ["csv", "3", "price"],
                ["csv", "4", "product_slug"],
                ["csv", "5", "issuer"],
                ["csv", "6", "stock"]
            ]
        );
        let english = problems[0].message.in_language(crate::infra::i18n::Language::En);
        assert!(english.starts_with("row 3, price"), "{english}");
    }

    #[test]
    fn a_missing_column_is_named() {
        let problems = parse("product_slug,price\n").err().unwrap_or_default();
        assert_eq!(problems.len(), 11);
        assert!(problems.iter().all(|p| p.code == ErrorCode::InvalidCsv));
    }
}
