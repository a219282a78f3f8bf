//! An organisation's report as the API shows it (`Organisation.report`).

use async_graphql::{Context, Object, SimpleObject};

use super::Pledge;
use crate::infra::graphql::date::Date;
use crate::infra::i18n::language_of;
use crate::infra::money::Money;
use crate::unions::report;

/// Spending under one name: a county, a village, a producer or a month.
#[derive(SimpleObject)]
pub struct ReportShare {
    name: String,
    amount: Money,
}

fn shares(shares: &[report::Share]) -> Vec<ReportShare> {
    shares
        .iter()
        .map(|share| ReportShare {
            name: share.name.clone(),
            amount: share.amount.into(),
        })
        .collect()
}

/// An organisation's purchases in a period (消费帮扶台账).
pub struct OrganisationReport(pub(super) report::OrganisationReport);

#[Object]
impl OrganisationReport {
    async fn from(&self) -> Date {
        Date(self.0.from)
    }

    async fn to(&self) -> Date {
        Date(self.0.to)
    }

    /// Paid orders credited to the organisation in the period.
    async fn orders(&self) -> usize {
        self.0.orders
    }

    /// What they came to, net of refunds.
    async fn spending(&self) -> Money {
        self.0.spending.into()
    }

    /// By county (区县), largest first.
    async fn by_county(&self) -> Vec<ReportShare> {
        shares(&self.0.by_county)
    }

    async fn by_village(&self) -> Vec<ReportShare> {
        shares(&self.0.by_village)
    }

    async fn by_producer(&self) -> Vec<ReportShare> {
        shares(&self.0.by_producer)
    }

    /// By month (`YYYY-MM`), in calendar order.
    async fn by_month(&self) -> Vec<ReportShare> {
        shares(&self.0.by_month)
    }

    /// The pledge of the period's last year, with its progress.
    async fn pledge(&self) -> Option<Pledge> {
        self.0.pledge.clone().map(Pledge::from)
    }

    /// Welfare allowances granted from the fund in the period.
    async fn allowance_granted(&self) -> Money {
        self.0.allowance_granted.into()
    }

    /// Allowance members spent in the period, net of what refunds gave back.
    async fn allowance_spent(&self) -> Money {
        self.0.allowance_spent.into()
    }

    /// Unspent allowances returned to the fund in the period.
    async fn allowance_returned(&self) -> Money {
        self.0.allowance_returned.into()
    }

    /// What the fund paid for bulk orders in the period, net of refunds to it.
    async fn fund_purchases(&self) -> Money {
        self.0.fund_purchases.into()
    }

    /// Acceptance of the bulk orders placed in the period.
    async fn acceptance(&self) -> super::bulk::AcceptanceProgress {
        self.0.acceptance.into()
    }

    /// The same as CSV for a spreadsheet, headed in the reader's language (UTF-8 with the
    /// byte-order mark Excel needs).
    async fn csv(&self, ctx: &Context<'_>) -> String {
        report::csv(&self.0, language_of(ctx))
    }
}
