//! Rules for text that people type, shared by every input.

/// Control characters other than tab and line breaks, which multi-line text may hold.
pub fn is_refused_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// A bank's reference for a transfer, as an operator types it: trimmed, 1 to 100 characters;
/// else an `INVALID_INPUT` on the `reference` argument.
pub fn bank_reference(reference: &str) -> Result<&str, crate::infra::error::UserError> {
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 100 {
        return Err(crate::infra::error::UserError::new(
            crate::infra::error_code::ErrorCode::InvalidInput,
            "reference-length",
        )
        .on_field(&["reference"]));
    }
    Ok(reference)
}
