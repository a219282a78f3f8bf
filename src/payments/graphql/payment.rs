//! `Order.payment`: an order's payment, cut to what its viewer may see.

use async_graphql::{Context, Object, SimpleObject};
use sea_orm::ActiveEnum;
use tokio::sync::OnceCell;

use crate::accounts::policy::viewer;
use crate::infra::error::AppResult;
use crate::infra::graphql::context::database;
use crate::infra::ids::ProducerId;
use crate::infra::money::Money;
use crate::orders::entity::order;
use crate::payments::checkout::PaymentActionKind;
use crate::payments::entity::payment;
use crate::payments::{PaymentStatus, records};

type Result<T> = async_graphql::Result<T>;

/// Who is looking at a payment decides what it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentView {
    /// The buyer: everything but the operators' notes, and the client secret.
    Buyer,
    /// An operator: everything but the client secret.
    Operator,
    /// Someone else allowed to see the order (an organisation's other admins): the amounts,
    /// neither the client secret nor the operators' notes.
    Amounts,
    /// A grower of one producer in the order: only that producer's share of the money.
    Producer(ProducerId),
}

/// What the buyer's app does to pay with WeChat Pay or Alipay paid directly: one of the URLs
/// or the parameters, as `kind` says.
#[derive(SimpleObject)]
pub struct PaymentAction {
    kind: PaymentActionKind,
    /// SHOW_QR_CODE: the text of the QR code to show.
    code_url: Option<String>,
    /// REDIRECT: where to send the phone's browser.
    redirect_url: Option<String>,
    /// INVOKE_JSAPI: the signed parameters (JSON) to pass to `wx.requestPayment`.
    jsapi_params: Option<String>,
}

/// An order's payment, as one viewer may see it.
pub struct Payment {
    row: payment::Model,
    view: PaymentView,
    /// What went back and what is still going back, read once for all the fields that show
    /// them: read field by field, a refund settling in between showed in neither.
    share: OnceCell<records::Share>,
}

impl Payment {
    async fn share(&self, ctx: &Context<'_>) -> Result<&records::Share> {
        self.share
            .get_or_try_init(|| async {
                let db = database(ctx)?;
                Ok(match self.view {
                    PaymentView::Producer(producer_id) => records::producer_share(db, &self.row, producer_id).await?,
                    _ => records::whole_share(db, &self.row).await?,
                })
            })
            .await
    }
}

#[Object]
impl Payment {
    /// `stripe`, `wechatpay`, `alipay`, `bank_transfer`, `allowance` or `fund`.
    async fn provider(&self) -> String {
        self.row.provider.to_value()
    }

    async fn status(&self) -> PaymentStatus {
        self.row.status
    }

    /// For Stripe.js to confirm the PaymentIntent; shown to the buyer only.
    async fn client_secret(&self) -> Option<&str> {
        match self.view {
            PaymentView::Buyer => self.row.client_secret.as_deref(),
            _ => None,
        }
    }

    /// What the buyer's app does next to pay (WeChat Pay and Alipay paid directly), while the
    /// payment awaits the money; shown to the buyer only.
    async fn next_action(&self) -> Option<PaymentAction> {
        let awaiting = matches!(
            self.row.status,
            PaymentStatus::RequiresPayment | PaymentStatus::Processing
        );
        if self.view != PaymentView::Buyer || !awaiting {
            return None;
        }
        let (kind, value) = (self.row.next_action_kind?, self.row.next_action.clone()?);
        let only = |wanted: PaymentActionKind| (kind == wanted).then(|| value.clone());
        Some(PaymentAction {
            kind,
            code_url: only(PaymentActionKind::ShowQrCode),
            redirect_url: only(PaymentActionKind::Redirect),
            jsapi_params: only(PaymentActionKind::InvokeJsapi),
        })
    }

    /// What was paid; to a grower, the part paid for its own lines.
    async fn amount(&self, ctx: &Context<'_>) -> Result<Money> {
        Ok(match self.view {
            PaymentView::Producer(_) => self.share(ctx).await?.amount.into(),
            _ => self.row.amount_fen.into(),
        })
    }

    /// What has gone back to the buyer (to a grower: of its own lines).
    async fn refunded(&self, ctx: &Context<'_>) -> Result<Money> {
        Ok(self.share(ctx).await?.refunded.into())
    }

    /// Refunds decided but not yet gone back: a bank refund an operator has still to send, or a
    /// Stripe refund whose answer is awaited (to a grower: of its own lines).
    async fn refund_pending(&self, ctx: &Context<'_>) -> Result<Money> {
        Ok(self.share(ctx).await?.refund_pending.into())
    }

    /// Why an operator must look at this payment (an amount that did not match, a refund that
    /// was refused); shown to operators only.
    async fn review_reason(&self) -> Option<&str> {
        match self.view {
            PaymentView::Operator if self.row.needs_review => self.row.review_reason.as_deref(),
            _ => None,
        }
    }
}

/// `Order.payment` for the viewer; `only_producer` when the viewer sees one producer's part.
pub async fn payment_for(
    ctx: &Context<'_>,
    order: &order::Model,
    only_producer: Option<ProducerId>,
) -> AppResult<Option<Payment>> {
    let row = records::payment_of(database(ctx)?, order.id).await?;
    let view = match (only_producer, viewer(ctx)) {
        (Some(producer_id), _) => PaymentView::Producer(producer_id),
        (None, crate::accounts::Viewer::User(me)) if me.user_id == order.buyer_id => PaymentView::Buyer,
        (None, crate::accounts::Viewer::User(me)) if me.role == crate::accounts::Role::Admin => PaymentView::Operator,
        (None, _) => PaymentView::Amounts,
    };
    Ok(row.map(|row| Payment {
        row,
        view,
        share: OnceCell::new(),
    }))
}
