//! The report as people read it: a page in Chinese with charts drawn as SVG on the server (no
//! script needed, a phone's width, printable), and the same figures as CSV and JSON.

use std::fmt::Write as _;

use chrono::{Datelike, TimeDelta};
use serde_json::{Value, json};

use super::figures::Report;
use crate::catalogue::entity::village;
use crate::infra::i18n::csv::Csv;
use crate::infra::i18n::{Language, Message};
use crate::infra::money::Fen;

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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

/// Bars for the months: the tallest month fills the chart; each bar is labelled.
fn months_chart(report: &Report) -> String {
    let (width, height, top, bottom) = (720.0_f64, 260.0_f64, 24.0_f64, 40.0_f64);
    let most = report.months.iter().map(|(_, s)| s.get()).max().unwrap_or(0).max(1);
    let count = report.months.len().max(1) as f64;
    let slot = width / count;
    let mut svg = format!(
        r#"<svg class="chart" id="months-chart" viewBox="0 0 {width} {height}" role="img" aria-label="每月销售额"><title>每月销售额</title>"#
    );
    for (index, (month, sales)) in report.months.iter().enumerate() {
        // Chart geometry only: the figures themselves are never floats.
        let bar = (height - top - bottom) * (sales.get().max(0) as f64) / (most as f64);
        let x = slot * index as f64 + slot * 0.15;
        let y = height - bottom - bar;
        let label = month.get(5..).unwrap_or(month);
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{bar:.1}" fill="#c0392b"><title>{month}：{}</title></rect><text x="{:.1}" y="{:.1}" font-size="13" text-anchor="middle">{label}月</text>"##,
            slot * 0.7,
            yuan(*sales),
            x + slot * 0.35,
            height - bottom + 18.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A bar per village, longest for the one that sold most.
fn villages_chart(report: &Report) -> String {
    let rows = report.villages.len().max(1);
    let (width, row) = (720.0_f64, 34.0_f64);
    let height = row * rows as f64 + 8.0;
    let most = report.villages.iter().map(|v| v.sales.get()).max().unwrap_or(0).max(1);
    let mut svg = format!(
        r#"<svg class="chart" id="villages-chart" viewBox="0 0 {width} {height}" role="img" aria-label="各村销售额"><title>各村销售额</title>"#
    );
    for (index, figures) in report.villages.iter().enumerate() {
        let y = row * index as f64 + 4.0;
        let bar = (width - 300.0) * (figures.sales.get().max(0) as f64) / (most as f64);
        let _ = write!(
            svg,
            r##"<text x="0" y="{:.1}" font-size="14">{}</text><rect x="130" y="{y:.1}" width="{bar:.1}" height="{:.1}" fill="#e67e22"/><text x="{:.1}" y="{:.1}" font-size="13">{}</text>"##,
            y + row * 0.6,
            escape(&figures.village.name),
            row * 0.7,
            136.0 + bar,
            y + row * 0.6,
            yuan(figures.sales),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The page for `report`, with pickers for `years` and `villages`.
pub fn html(report: &Report, years: &[i32], villages: &[village::Model]) -> String {
    let chosen_village = report.period.village_slug.as_deref();
    let year = report.period.from.year();
    let title = match chosen_village.and_then(|slug| villages.iter().find(|v| v.slug == slug)) {
        Some(village) => format!("{}：{year} 年消费帮扶成效", village.name),
        None => format!("花开：{year} 年消费帮扶成效"),
    };
    let mut year_options = String::new();
    for option in years {
        let selected = if *option == year { " selected" } else { "" };
        let _ = write!(
            year_options,
            r#"<option value="{option}"{selected}>{option} 年</option>"#
        );
    }
    let mut village_options = String::from(r#"<option value="">全部脱贫村</option>"#);
    for village in villages.iter().filter(|v| v.registered_poor) {
        let selected = if Some(village.slug.as_str()) == chosen_village {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            village_options,
            r#"<option value="{}"{selected}>{}（{}）</option>"#,
            escape(&village.slug),
            escape(&village.name),
            escape(&village.town)
        );
    }
    let mut village_rows = String::new();
    for figures in &report.villages {
        let households = figures
            .households_reached
            .map_or_else(|| "少于 5 户，计入总数".to_owned(), |n| format!("{n} 户"));
        let _ = write!(
            village_rows,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{households}</td></tr>",
            escape(&figures.village.name),
            escape(&figures.village.town),
            yuan(figures.sales)
        );
    }
    let mut kind_rows = String::new();
    for (kind, sales) in &report.producer_kinds {
        let _ = write!(kind_rows, "<li>{}：{}</li>", kind_name(kind), yuan(*sales));
    }
    let computed = (report.computed_at + TimeDelta::hours(8)).format("%Y-%m-%d %H:%M");
    let query = match chosen_village {
        Some(slug) => format!("?year={year}&amp;village={}", escape(slug)),
        None => format!("?year={year}"),
    };
    format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 0 auto; max-width: 960px; padding: 16px; color: #222; }}
h1 {{ font-size: 1.5rem; color: #a93226; }}
.headline {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin: 16px 0; }}
.figure {{ border: 1px solid #eee; border-radius: 8px; padding: 12px; background: #fffaf5; }}
.figure .value {{ font-size: 1.4rem; font-weight: bold; color: #c0392b; }}
.figure .label {{ font-size: .9rem; color: #555; }}
.chart {{ width: 100%; height: auto; }}
table {{ width: 100%; border-collapse: collapse; }}
td, th {{ border-bottom: 1px solid #eee; padding: 6px 4px; text-align: left; }}
.num {{ text-align: right; }}
form {{ display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }}
footer {{ color: #777; font-size: .85rem; margin-top: 24px; }}
@media print {{ form {{ display: none; }} .figure {{ break-inside: avoid; }} }}
</style>
</head>
<body>
<h1>{title}</h1>
<form method="get" action="/impact">
<label>年份 <select name="year">{year_options}</select></label>
<label>村 <select name="village">{village_options}</select></label>
<button type="submit">查看</button>
</form>
<section class="headline" id="headline">
<div class="figure" id="sales"><div class="value">{sales}</div><div class="label">脱贫村农产品销售额（已付款，扣除退款）</div></div>
<div class="figure" id="units"><div class="value">{units}</div><div class="label">售出件数</div></div>
<div class="figure" id="paid-to-producers"><div class="value">{paid_producers}</div><div class="label">已结算给生产者</div></div>
<div class="figure" id="paid-to-households"><div class="value">{paid_households}</div><div class="label">经合作社二次分配到建档立卡户</div></div>
<div class="figure" id="households"><div class="value">{households} 户</div><div class="label">惠及建档立卡户</div></div>
<div class="figure" id="grower-share"><div class="value">{share}</div><div class="label">生产者所得占买家付款</div></div>
<div class="figure" id="through-organisations"><div class="value">{unions}</div><div class="label">工会与预算单位采购</div></div>
<div class="figure" id="through-hosts"><div class="value">{hosts}</div><div class="label">直播带货</div></div>
<div class="figure" id="pledges"><div class="value">{fulfilled} / {made}</div><div class="label">完成年度预留份额的单位</div></div>
</section>
<h2>每月销售额</h2>
{months_chart}
<h2>各村销售额</h2>
{villages_chart}
<table id="villages">
<thead><tr><th>村</th><th>镇</th><th class="num">销售额</th><th class="num">惠及户数</th></tr></thead>
<tbody>{village_rows}</tbody>
</table>
<h2>按生产者类型</h2>
<ul>{kind_rows}</ul>
<footer>
<p>统计期间：{from} 至 {to}（北京时间）。数据计算于 {computed}。</p>
<p>口径：销售额为已付款订单中脱贫村产品的金额，扣除退款；结算与二次分配按当期已付款的结算单计；少于 5 户的村只计入总户数，不单独显示。</p>
<p><a href="/impact.csv{query}">下载 CSV</a> · <a href="/impact.json{query}">JSON</a></p>
</footer>
</body>
</html>
"#,
        sales = yuan(report.sales),
        units = report.units_sold,
        paid_producers = yuan(report.paid_to_producers),
        paid_households = yuan(report.paid_to_households),
        households = report.households_reached,
        share = percent(report.grower_share_bps),
        unions = yuan(report.through_unions),
        hosts = yuan(report.through_hosts),
        fulfilled = report.pledges_fulfilled,
        made = report.pledges_made,
        months_chart = months_chart(report),
        villages_chart = villages_chart(report),
        from = report.period.from,
        to = report.period.to,
    )
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
        assert_eq!(escape("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
    }
}
