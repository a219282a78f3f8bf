//! Email addresses as accounts hold them: folded to one case, and checked before an account is
//! made with one.

const MAX_EMAIL_CHARS: usize = 254;

/// Trimmed and lower-cased; emails are unique whatever their case.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub(super) fn email_problem(email: &str) -> Option<&'static str> {
    let valid = email.chars().count() <= MAX_EMAIL_CHARS
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        });
    (!valid).then_some("email-invalid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_folded() {
        assert_eq!(normalize_email("  Li.Hua@Example.COM "), "li.hua@example.com");
        assert!(email_problem("li.hua@example.com").is_none());
        for bad in [
            "",
            "no-at-sign",
            "@example.com",
            "a@b",
            "a@.com",
            "a@b..com",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(email_problem(bad).is_some(), "{bad:?}");
        }
    }
}
