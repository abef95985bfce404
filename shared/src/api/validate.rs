//! Field validation shared by the request types: which field is wrong, and why.

use crate::problem::Problem;

/// A field that failed validation, and why: becomes a 422 naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The JSON field name.
    pub field: &'static str,
    /// What is wrong with it, for people.
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl From<FieldError> for Problem {
    fn from(e: FieldError) -> Self {
        Problem::invalid_field(e.field, e.to_string())
    }
}

/// Name length bounds, in characters.
pub const NAME_CHARS: std::ops::RangeInclusive<usize> = 1..=100;
/// Password length bounds, in characters.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=128;
/// Longest email accepted (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// Longest location text.
pub const LOCATION_CHARS: std::ops::RangeInclusive<usize> = 1..=200;
/// Longest color or brand.
pub const LABEL_MAX_CHARS: usize = 40;

/// Checks an email's shape: `local@domain.tld`, no spaces, within length limits.
pub fn validate_email(email: &str) -> Result<(), FieldError> {
    let bad = |why: &str| Err(FieldError::new("email", why.to_string()));
    let email = email.trim();
    if email.is_empty() || email.len() > EMAIL_MAX {
        return bad("must be 1 to 254 characters");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return bad("must look like name@example.com");
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '"');
    let labels: Vec<&str> = domain.split('.').collect();
    if !local_ok || labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) {
        return bad("must look like name@example.com");
    }
    Ok(())
}

/// Checks free text: trimmed length within `chars`, no control characters.
pub fn validate_text(
    field: &'static str,
    value: &str,
    chars: std::ops::RangeInclusive<usize>,
) -> Result<(), FieldError> {
    let count = value.trim().chars().count();
    if !chars.contains(&count) {
        return Err(FieldError::new(
            field,
            format!(
                "must be {} to {} characters long",
                chars.start(),
                chars.end()
            ),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}
