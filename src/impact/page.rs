//! The report as people read it: a page in Chinese with charts drawn as SVG on the server (no
//! script needed, a phone's width, printable), and the same figures as CSV and JSON.

use chrono::{Datelike, TimeDelta};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::{Value, json};

use super::figures::Report;
use crate::catalogue::entity::village;
use crate::infra::i18n::csv::Csv;
use crate::infra::i18n::{Language, Message};
use crate::infra::money::Fen;

/// Yuan as people read it: "¥12,345.60".
fn yuan(amount: Fen) -> String {
    let text = amount.get().unsigned_abs().to_string();
    let (whole, fen) = if text.len() > 2 {
        text.split_at(text.len() - 2)
    } else {
        ("0", text.as_str())
    };
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount.get() < 0 { "-" } else { "" };
    format!("{sign}¥{grouped}.{fen:0>2}")
}

fn percent(bps: i64) -> String {
    format!("{}.{:02}%", bps / 100, bps % 100)
}

fn kind_name(kind: &str) -> &str {
    match kind {
        "HOUSEHOLD" => "农户",
        "COOPERATIVE" => "合作社",
        "WORKSHOP" => "扶贫车间",
        other => other,
    }
}

/// One decimal, for chart geometry.
fn at(value: f64) -> String {
    format!("{value:.1}")
}

/// Bars for the months: the tallest month fills the chart; each bar is labelled.
fn months_chart(report: &Report) -> Markup {
    let (width, height, top, bottom) = (720.0_f64, 260.0_f64, 24.0_f64, 40.0_f64);
    let most = report.months.iter().map(|(_, s)| s.get()).max().unwrap_or(0).max(1);
    let count = report.months.len().max(1) as f64;
    let slot = width / count;
    html! {
        svg class="chart" id="months-chart" viewBox=(format!("0 0 {width} {height}")) role="img" aria-label="每月销售额" {
            title { "每月销售额" }
            @for (index, (month, sales)) in report.months.iter().enumerate() {
                // Chart geometry only: the figures themselves are never floats.
                @let bar = (height - top - bottom) * (sales.get().max(0) as f64) / (most as f64);
                @let x = slot * index as f64 + slot * 0.15;
                rect x=(at(x)) y=(at(height - bottom - bar)) width=(at(slot * 0.7)) height=(at(bar)) fill="#c0392b" {
                    title { (month) "：" (yuan(*sales)) }
                }
                text x=(at(x + slot * 0.35)) y=(at(height - bottom + 18.0)) font-size="13" text-anchor="middle" {
                    (month.get(5..).unwrap_or(month)) "月"
                }
            }
        }
    }
}

/// A bar per village, longest for the one that sold most.
fn villages_chart(report: &Report) -> Markup {
    let rows = report.villages.len().max(1);
    let (width, row) = (720.0_f64, 34.0_f64);
    let height = row * rows as f64 + 8.0;
    let most = report.villages.iter().map(|v| v.sales.get()).max().unwrap_or(0).max(1);
    html! {
        svg class="chart" id="villages-chart" viewBox=(format!("0 0 {width} {height}")) role="img" aria-label="各村销售额" {
            title { "各村销售额" }
            @for (index, figures) in report.villages.iter().enumerate() {
                @let y = row * index as f64 + 4.0;
                @let bar = (width - 300.0) * (figures.sales.get().max(0) as f64) / (most as f64);
                text x="0" y=(at(y + row * 0.6)) font-size="14" { (figures.village.name) }
                rect x="130" y=(at(y)) width=(at(bar)) height=(at(row * 0.7)) fill="#e67e22" {}
                text x=(at(136.0 + bar)) y=(at(y + row * 0.6)) font-size="13" { (yuan(figures.sales)) }
            }
        }
    }
}

const STYLE: &str = r#"
body { font-family: "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 0 auto; max-width: 960px; padding: 16px; color: #222; }
h1 { font-size: 1.5rem; color: #a93226; }
.headline { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin: 16px 0; }
.figure { border: 1px solid #eee; border-radius: 8px; padding: 12px; background: #fffaf5; }
.figure .value { font-size: 1.4rem; font-weight: bold; color: #c0392b; }
.figure .label { font-size: .9rem; color: #555; }
.chart { width: 100%; height: auto; }
table { width: 100%; border-collapse: collapse; }
td, th { border-bottom: 1px solid #eee; padding: 6px 4px; text-align: left; }
.num { text-align: right; }
form { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
footer { color: #777; font-size: .85rem; margin-top: 24px; }
@media print { form { display: none; } .figure { break-inside: avoid; } }
"#;

/// One headline figure.
fn figure(id: &str, value: &str, label: &str) -> Markup {
    html! {
        div class="figure" id=(id) { div class="value" { (value) } div class="label" { (label) } }
    }
}

/// The page for `report`, with pickers for `years` and `villages`. Written with maud, which
/// escapes every value put into the page (village names and towns are operators' text).
pub fn html(report: &Report, years: &[i32], villages: &[village::Model]) -> String {
    let chosen_village = report.period.village_slug.as_deref();
    let year = report.period.from.year();
    let title = match chosen_village.and_then(|slug| villages.iter().find(|v| v.slug == slug)) {
        Some(village) => format!("{}：{year} 年消费帮扶成效", village.name),
        None => format!("花开：{year} 年消费帮扶成效"),
    };
    let computed = (report.computed_at + TimeDelta::hours(8)).format("%Y-%m-%d %H:%M");
    let query = match chosen_village {
        Some(slug) => format!("?year={year}&village={slug}"),
        None => format!("?year={year}"),
    };
    let page = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (title) }
                form method="get" action="/impact" {
                    label { "年份 " select name="year" {
                        @for option in years {
                            option value=(option) selected[*option == year] { (option) " 年" }
                        }
                    } }
                    label { "村 " select name="village" {
                        option value="" { "全部脱贫村" }
                        @for village in villages.iter().filter(|v| v.registered_poor) {
                            option value=(village.slug) selected[Some(village.slug.as_str()) == chosen_village] {
                                (village.name) "（" (village.town) "）"
                            }
                        }
                    } }
                    button type="submit" { "查看" }
                }
                section class="headline" id="headline" {
                    (figure("sales", &yuan(report.sales), "脱贫村农产品销售额（已付款，扣除退款）"))
                    (figure("units", &report.units_sold.to_string(), "售出件数"))
                    (figure("paid-to-producers", &yuan(report.paid_to_producers), "已结算给生产者"))
                    (figure("paid-to-households", &yuan(report.paid_to_households), "经合作社二次分配到建档立卡户"))
                    (figure("households", &format!("{} 户", report.households_reached), "惠及建档立卡户"))
                    (figure("grower-share", &percent(report.grower_share_bps), "生产者所得占买家付款"))
                    (figure("through-organisations", &yuan(report.through_unions), "工会与预算单位采购"))
                    (figure("through-hosts", &yuan(report.through_hosts), "直播带货"))
                    (figure("pledges", &format!("{} / {}", report.pledges_fulfilled, report.pledges_made), "完成年度预留份额的单位"))
                }
                h2 { "每月销售额" }
                (months_chart(report))
                h2 { "各村销售额" }
                (villages_chart(report))
                table id="villages" {
                    thead { tr { th { "村" } th { "镇" } th class="num" { "销售额" } th class="num" { "惠及户数" } } }
                    tbody {
                        @for figures in &report.villages {
                            tr {
                                td { (figures.village.name) }
                                td { (figures.village.town) }
                                td class="num" { (yuan(figures.sales)) }
                                td class="num" {
                                    @match figures.households_reached {
                                        Some(n) => { (n) " 户" }
                                        None => "少于 5 户，计入总数",
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { "按生产者类型" }
                ul { @for (kind, sales) in &report.producer_kinds { li { (kind_name(kind)) "：" (yuan(*sales)) } } }
                footer {
                    p { "统计期间：" (report.period.from) " 至 " (report.period.to) "（北京时间）。数据计算于 " (computed) "。" }
                    p { "口径：销售额为已付款订单中脱贫村产品的金额，扣除退款；结算与二次分配按当期已付款的结算单计；少于 5 户的村只计入总户数，不单独显示。" }
                    p { a href=(format!("/impact.csv{query}")) { "下载 CSV" } " · " a href=(format!("/impact.json{query}")) { "JSON" } }
                }
            }
        }
    };
    page.into_string()
}

/// The figures as CSV: one row per figure (section, name, value), amounts in yuan, the
/// section and figure names in `language`; UTF-8 with a byte-order mark ([`Csv`]).
pub fn csv(report: &Report, language: Language) -> String {
    let words = |id: &'static str| Message::new(id).in_language(language);
    let mut csv = Csv::new(language, &["csv-section", "csv-name", "csv-value"]);
    let mut row = |section: &'static str, name: String, value: String| csv.row(&[words(section), name, value]);
    row("impact-period", words("impact-from"), report.period.from.to_string());
    row("impact-period", words("impact-to"), report.period.to.to_string());
    let totals: [(&'static str, String); 10] = [
        ("impact-sales", report.sales.to_string()),
        ("impact-units-sold", report.units_sold.to_string()),
        ("impact-paid-to-producers", report.paid_to_producers.to_string()),
        ("impact-paid-to-households", report.paid_to_households.to_string()),
        ("impact-households-reached", report.households_reached.to_string()),
        ("impact-grower-share-bps", report.grower_share_bps.to_string()),
        ("impact-sales-through-organisations", report.through_unions.to_string()),
        ("impact-sales-through-hosts", report.through_hosts.to_string()),
        ("impact-pledges-made", report.pledges_made.to_string()),
        ("impact-pledges-fulfilled", report.pledges_fulfilled.to_string()),
    ];
    for (name, value) in totals {
        row("impact-total", words(name), value);
    }
    for figures in &report.villages {
        row(
            "impact-village-sales",
            figures.village.slug.clone(),
            figures.sales.to_string(),
        );
        row(
            "impact-village-households-reached",
            figures.village.slug.clone(),
            figures.households_reached.map(|n| n.to_string()).unwrap_or_default(),
        );
    }
    for (town, sales) in &report.towns {
        row("impact-town-sales", town.clone(), sales.to_string());
    }
    for (kind, sales) in &report.producer_kinds {
        row("impact-producer-kind-sales", kind.clone(), sales.to_string());
    }
    for (month, sales) in &report.months {
        row("impact-month-sales", month.clone(), sales.to_string());
    }
    row("impact-computed", words("impact-at"), report.computed_at.to_rfc3339());
    csv.finish()
}

/// The figures as JSON, named as the GraphQL query names them.
pub fn json(report: &Report) -> Value {
    json!({
        "from": report.period.from.to_string(),
        "to": report.period.to.to_string(),
        "villageSlug": report.period.village_slug,
        "sales": report.sales.to_string(),
        "unitsSold": report.units_sold,
        "paidToProducers": report.paid_to_producers.to_string(),
        "paidToHouseholds": report.paid_to_households.to_string(),
        "householdsReached": report.households_reached,
        "growerShareBps": report.grower_share_bps,
        "salesThroughOrganisations": report.through_unions.to_string(),
        "salesThroughHosts": report.through_hosts.to_string(),
        "pledgesMade": report.pledges_made,
        "pledgesFulfilled": report.pledges_fulfilled,
        "villages": report.villages.iter().map(|v| json!({
            "slug": v.village.slug,
            "name": v.village.name,
            "sales": v.sales.to_string(),
            "householdsReached": v.households_reached,
        })).collect::<Vec<_>>(),
        "towns": report.towns.iter().map(|(town, sales)| json!({ "town": town, "sales": sales.to_string() })).collect::<Vec<_>>(),
        "producerKinds": report.producer_kinds.iter().map(|(kind, sales)| json!({ "kind": kind, "sales": sales.to_string() })).collect::<Vec<_>>(),
        "months": report.months.iter().map(|(month, sales)| json!({ "month": month, "sales": sales.to_string() })).collect::<Vec<_>>(),
        "computedAt": report.computed_at.to_rfc3339(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_reads_as_people_write_it() {
        assert_eq!(yuan(Fen::new(0)), "¥0.00");
        assert_eq!(yuan(Fen::new(5)), "¥0.05");
        assert_eq!(yuan(Fen::new(123_456_789)), "¥1,234,567.89");
        assert_eq!(yuan(Fen::new(-950)), "-¥9.50");
        assert_eq!(percent(9_500), "95.00%");
    }
}
