//! A buyer's mobile number (`setPhoneNumber`): mainland numbers only, kept as `+86` and eleven
//! digits starting with 1. Nothing is sent to it yet: the SMS interface (`infra::sms`) has no
//! live provider.

use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Set};

use super::SignedIn;
use super::entity::user;
use crate::infra::error::{AppError, Outcome, UserError};
use crate::infra::error_code::ErrorCode;

/// `+86` and eleven digits starting with 1, from what a person types: spaces and dashes are
/// dropped, and the `+86` (or `86`, or `0086`) may be left out.
pub fn normalize(typed: &str) -> Option<String> {
    let compact: String = typed.chars().filter(|c| !matches!(c, ' ' | '-' | '\u{3000}')).collect();
    let national = compact
        .strip_prefix("+86")
        .or_else(|| compact.strip_prefix("0086"))
        .or_else(|| compact.strip_prefix("86").filter(|rest| rest.len() == 11))
        .unwrap_or(&compact);
    let valid = national.len() == 11 && national.starts_with('1') && national.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| format!("+86{national}"))
}

/// Sets (or, with `None`, removes) the caller's mobile number.
pub async fn set_phone(db: &DatabaseConnection, me: &SignedIn, phone: Option<&str>) -> Outcome<user::Model> {
    let phone = match phone.map(str::trim).filter(|typed| !typed.is_empty()) {
        None => None,
        Some(typed) => match normalize(typed) {
            Some(phone) => Some(phone),
            None => {
                return Ok(Err(
                    UserError::new(ErrorCode::InvalidInput, "phone-invalid").on_field(&["phone"])
                ));
            }
        },
    };
    let user = user::Entity::find_by_id(me.user_id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let mut changed = user.into_active_model();
    changed.phone = Set(phone);
    Ok(Ok(changed.update(db).await?))
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn mainland_mobile_numbers_only() {
        for typed in [
            "13812345678",
            "+86 138 1234 5678",
            "8613812345678",
            "0086-138-1234-5678",
        ] {
            assert_eq!(normalize(typed).as_deref(), Some("+8613812345678"), "{typed}");
        }
        for typed in [
            "",
            "1381234567",
            "138123456789",
            "23812345678",
            "+85291234567",
            "1381234567x",
            "+8613812345678 9",
        ] {
            assert_eq!(normalize(typed), None, "{typed}");
        }
    }
}
