//! A delivery address as buyers type it, and the checks every address passes, wherever it is
//! given: an order's, a bulk order's recipient's, or one saved in the address book.

use crate::infra::i18n::Message;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub name: String,
    pub phone: String,
    pub province: String,
    pub city: String,
    pub district: String,
    pub line1: String,
    pub postal_code: Option<String>,
}

impl Address {
    /// The address as it is kept: every field trimmed, an empty postal code none.
    pub fn trimmed(self) -> Address {
        Address {
            name: self.name.trim().to_owned(),
            phone: self.phone.trim().to_owned(),
            province: self.province.trim().to_owned(),
            city: self.city.trim().to_owned(),
            district: self.district.trim().to_owned(),
            line1: self.line1.trim().to_owned(),
            postal_code: self
                .postal_code
                .map(|code| code.trim().to_owned())
                .filter(|code| !code.is_empty()),
        }
    }
}

fn check_text(value: &str, max_chars: usize) -> Result<(), Message> {
    let chars = value.trim().chars().count();
    if chars == 0 || chars > max_chars {
        return Err(Message::new("text-length").with("max", max_chars));
    }
    Ok(())
}

/// Checks a delivery address; the field at fault and why, when it is not one.
pub fn check_address(address: &Address) -> Result<(), (&'static str, Message)> {
    for (field, value, max_chars) in [
        ("name", &address.name, 50),
        ("province", &address.province, 50),
        ("city", &address.city, 50),
        ("district", &address.district, 50),
        ("line1", &address.line1, 200),
    ] {
        check_text(value, max_chars).map_err(|problem| (field, problem))?;
    }
    let phone = address.phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if !(5..=20).contains(&digits)
        || phone.chars().count() > 30
        || !phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
    {
        return Err(("phone", Message::new("phone-digits")));
    }
    if let Some(code) = address.postal_code.as_deref().map(str::trim).filter(|c| !c.is_empty())
        && !(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(("postalCode", Message::new("postal-code-digits")));
    }
    Ok(())
}
