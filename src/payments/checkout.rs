//! How the buyer pays with a phone wallet paid directly (WeChat Pay, Alipay): where they are
//! (`PaymentChannel`), and what their app must do next (`NextAction`), kept on the payment row.

use std::net::IpAddr;

use async_graphql::Enum;
use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};

/// Where the buyer pays from: a QR code on a computer or livestream screen (NATIVE), inside
/// WeChat (JSAPI, needing the buyer's openid), or a phone's browser (H5).
#[derive(Enum, Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum PaymentChannel {
    #[default]
    Native,
    Jsapi,
    H5,
}

/// What `placeOrder` knows of the buyer's situation, for a provider that needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkout {
    pub channel: PaymentChannel,
    /// The buyer's openid under the shop's AppID (JSAPI).
    pub payer_openid: Option<String>,
    /// The buyer's address, which WeChat Pay checks against the phone opening an H5 payment.
    pub payer_ip: Option<IpAddr>,
}

/// What the buyer's app does to pay.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PaymentActionKind {
    /// Show `codeUrl` as a QR code to scan with the wallet.
    #[sea_orm(string_value = "SHOW_QR_CODE")]
    ShowQrCode,
    /// Send the browser to `redirectUrl`.
    #[sea_orm(string_value = "REDIRECT")]
    Redirect,
    /// Inside WeChat: pass `jsapiParams` (JSON) to `wx.requestPayment`.
    #[sea_orm(string_value = "INVOKE_JSAPI")]
    InvokeJsapi,
}

/// A kind and its one value (the code URL, the redirect URL or the JSAPI parameters' JSON).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextAction {
    pub kind: PaymentActionKind,
    pub value: String,
}
