//! The express carriers a parcel can go with, by the code operators and growers type, and the
//! carrier's own public page that tracks a parcel by its number.

use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};
use sea_orm::{ActiveEnum, Iterable};

#[derive(Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum Carrier {
    /// 顺丰速运
    #[sea_orm(string_value = "SF")]
    Sf,
    /// 中通快递
    #[sea_orm(string_value = "ZTO")]
    Zto,
    /// 圆通速递
    #[sea_orm(string_value = "YTO")]
    Yto,
    /// 京东物流
    #[sea_orm(string_value = "JD")]
    Jd,
    /// 中国邮政 EMS
    #[sea_orm(string_value = "EMS")]
    Ems,
    /// 申通快递
    #[sea_orm(string_value = "STO")]
    Sto,
    /// 韵达快递
    #[sea_orm(string_value = "YUNDA")]
    Yunda,
}

impl Carrier {
    /// The carrier a code names, whatever its case and surrounding spaces.
    pub fn from_code(code: &str) -> Option<Carrier> {
        Carrier::try_from_value(&code.trim().to_ascii_uppercase()).ok()
    }

    /// The code the API shows.
    pub fn code(self) -> &'static str {
        match self {
            Carrier::Sf => "SF",
            Carrier::Zto => "ZTO",
            Carrier::Yto => "YTO",
            Carrier::Jd => "JD",
            Carrier::Ems => "EMS",
            Carrier::Sto => "STO",
            Carrier::Yunda => "YUNDA",
        }
    }

    /// Every code, for the message that lists them.
    pub fn codes() -> String {
        Carrier::iter().map(Carrier::code).collect::<Vec<_>>().join(", ")
    }

    /// The carrier's public page showing where the parcel `number` is (the number
    /// percent-encoded, a space as `%20`, which a path and a query both read).
    pub fn tracking_url(self, number: &str) -> String {
        let number = url::form_urlencoded::byte_serialize(number.as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        match self {
            Carrier::Sf => format!("https://www.sf-express.com/chn/sc/waybill/waybill-detail/{number}"),
            Carrier::Zto => format!("https://www.zto.com/express/expressCheck.html?txtBill={number}"),
            Carrier::Yto => format!("https://www.yto.net.cn/Track/?wb={number}"),
            Carrier::Jd => format!("https://www.jdl.com/orderSearch/?waybillCodes={number}"),
            Carrier::Ems => format!("https://www.ems.com.cn/queryList?mailNum={number}"),
            Carrier::Sto => format!("https://www.sto.cn/chaxun/index.html?bills={number}"),
            Carrier::Yunda => format!("https://www.yundaex.com/cn/index.php?number={number}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_loosely_and_numbers_escaped() {
        assert_eq!(Carrier::from_code(" sf "), Some(Carrier::Sf));
        assert_eq!(Carrier::from_code("Yunda"), Some(Carrier::Yunda));
        assert_eq!(Carrier::from_code("DHL"), None);
        assert_eq!(Carrier::codes(), "SF, ZTO, YTO, JD, EMS, STO, YUNDA");
        assert_eq!(
            Carrier::Ems.tracking_url("EA 1&2"),
            "https://www.ems.com.cn/queryList?mailNum=EA%201%262"
        );
    }
}
