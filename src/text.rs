//! Rules for text that people type, shared by every input.

/// Control characters other than tab and line breaks, which multi-line text may hold.
pub fn is_refused_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}
