//! A bulk order's recipient list as a CSV file (UTF-8, a BOM allowed): a header row naming the
//! columns, in English or Chinese, in any order, then one recipient line per row. Every problem
//! names the CSV line it is on (the header is line 1).
//!
//! | column     | also accepted          |
//! |------------|------------------------|
//! | `name`     | 收件人, 姓名            |
//! | `phone`    | 电话, 手机              |
//! | `province` | 省                     |
//! | `city`     | 市                     |
//! | `district` | 区县, 区                |
//! | `line1`    | 详细地址, 地址          |
//! | `sku`      | SKU                    |
//! | `quantity` | 数量                    |

use super::bulk::{LinePlace, RecipientLine, VariantRef};
use crate::cart::address::Address;
use crate::infra::csv_reading::{self, unreadable};
use crate::infra::error::UserError;
use crate::infra::error_code::ErrorCode;

const COLUMNS: [(&str, &[&str]); 8] = [
    ("name", &["收件人", "姓名"]),
    ("phone", &["电话", "手机"]),
    ("province", &["省"]),
    ("city", &["市"]),
    ("district", &["区县", "区"]),
    ("line1", &["详细地址", "地址"]),
    ("sku", &[]),
    ("quantity", &["数量"]),
];

/// The recipient lines of `text`, or every problem found in it.
pub fn parse(text: &str) -> Result<Vec<RecipientLine>, Vec<UserError>> {
    let (mut reader, positions) = csv_reading::open(text, COLUMNS)?;
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                problems.push(unreadable(&error));
                continue;
            }
        };
        let line = record.position().map_or(0, |position| position.line());
        let place = LinePlace::Csv(usize::try_from(line).unwrap_or(usize::MAX));
        let [name, phone, province, city, district, line1, sku, quantity] =
            positions.map(|position| record.get(position).unwrap_or("").to_owned());
        let Ok(quantity) = quantity.parse::<i32>() else {
            problems.push(place.problem(ErrorCode::InvalidQuantity, "csv-quantity-number", "quantity"));
            continue;
        };
        lines.push(RecipientLine {
            place,
            recipient: Address {
                name,
                phone,
                province,
                city,
                district,
                line1,
                postal_code: None,
            },
            variant: VariantRef::Sku(sku),
            quantity,
        });
    }
    if problems.is_empty() { Ok(lines) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_found_by_english_or_chinese_names_in_any_order() {
        let text = "\u{feff}数量,SKU,收件人,电话,省,市,区县,详细地址\n2,SKU-1,张三,13800000000,湖南省,株洲市,芦淞区,\"建设路 1 号, 3 栋\"\n";
        let lines = parse(text).map_err(|problems| problems.len()).expect("parses");
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].quantity, 2);
        assert_eq!(lines[0].variant, VariantRef::Sku("SKU-1".to_owned()));
        assert_eq!(lines[0].recipient.line1, "建设路 1 号, 3 栋");
        assert_eq!(lines[0].place, LinePlace::Csv(2));
    }

    #[test]
    fn each_problem_names_its_line() {
        let text = "name,phone,province,city,district,line1,sku,quantity\n\
                    A,13800000000,P,C,D,L,S,1\n\
                    B,13800000000,P,C,D,L,S,two\n\
                    C,13800000000,P,C,D,L,S,3\n\
                    D,13800000000,P,C,D,L,S,\n";
        let problems = parse(text).err().unwrap_or_default();
        let fields: Vec<_> = problems.iter().map(|p| p.field.clone().unwrap_or_default()).collect();
        assert_eq!(fields, [["csv", "3", "quantity"], ["csv", "5", "quantity"]]);
        assert!(
            problems[0]
                .message
                .in_language(crate::infra::i18n::Language::En)
                .contains("line 3")
        );
    }

    #[test]
    fn a_missing_column_is_named() {
        let problems = parse("name,phone,province,city,district,line1,quantity\n")
            .err()
            .unwrap_or_default();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, ErrorCode::InvalidCsv);
        assert!(
            problems[0]
                .message
                .in_language(crate::infra::i18n::Language::En)
                .contains("sku")
        );
    }
}
