//! Opaque global ids for `Node`: base64url of "Type:number". Clients must not parse them;
//! they only need to be stable and to say which type they name.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The object types `node(id:)` can fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeType {
    Product,
    Variant,
    Village,
    Producer,
    User,
    Order,
    Payout,
    BankRefund,
    Organisation,
    Membership,
    Host,
    PromoLink,
    LiveSession,
    LiveSessionItem,
    Claim,
    SavedAddress,
    Store,
    CounterSale,
    Shipment,
}

impl NodeType {
    const ALL: [NodeType; 19] = [
        NodeType::Product,
        NodeType::Variant,
        NodeType::Village,
        NodeType::Producer,
        NodeType::User,
        NodeType::Order,
        NodeType::Payout,
        NodeType::BankRefund,
        NodeType::Organisation,
        NodeType::Membership,
        NodeType::Host,
        NodeType::PromoLink,
        NodeType::LiveSession,
        NodeType::LiveSessionItem,
        NodeType::Claim,
        NodeType::SavedAddress,
        NodeType::Store,
        NodeType::CounterSale,
        NodeType::Shipment,
    ];

    fn name(self) -> &'static str {
        match self {
            NodeType::Product => "Product",
            NodeType::Variant => "Variant",
            NodeType::Village => "Village",
            NodeType::Producer => "Producer",
            NodeType::User => "User",
            NodeType::Order => "Order",
            NodeType::Payout => "Payout",
            NodeType::BankRefund => "BankRefund",
            NodeType::Organisation => "Organisation",
            NodeType::Membership => "Membership",
            NodeType::Host => "Host",
            NodeType::PromoLink => "PromoLink",
            NodeType::LiveSession => "LiveSession",
            NodeType::LiveSessionItem => "LiveSessionItem",
            NodeType::Claim => "Claim",
            NodeType::SavedAddress => "SavedAddress",
            NodeType::Store => "Store",
            NodeType::CounterSale => "CounterSale",
            NodeType::Shipment => "Shipment",
        }
    }
}

pub fn encode(node_type: NodeType, id: impl Into<i64>) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{}", node_type.name(), id.into())))
}

/// The type and row id an opaque id names, or `None` when it is not one of ours.
pub fn decode(id: &str) -> Option<(NodeType, i64)> {
    let bytes = URL_SAFE_NO_PAD.decode(id.trim()).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let (name, number) = text.split_once(':')?;
    let node_type = NodeType::ALL.into_iter().find(|t| t.name() == name)?;
    let number: i64 = number.parse().ok()?;
    (number > 0).then_some((node_type, number))
}

/// The row id when `id` names an object of `expected` type, as the caller's id type.
pub fn decode_as<RowId: From<i64>>(id: &str, expected: NodeType) -> Option<RowId> {
    decode(id).and_then(|(node_type, number)| (node_type == expected).then(|| number.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_ids() {
        let id = encode(NodeType::Variant, 42);
        assert_eq!(decode(&id), Some((NodeType::Variant, 42)));
        assert_eq!(decode_as::<i64>(&id, NodeType::Product), None);
        assert_eq!(decode("not-an-id"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("Variant:-1")), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("Secret:1")), None);
    }
}
