//! The request-shape rules the edge and the origins both apply: which content types are JSON,
//! where the session token comes from, and how large a body may be. Each side keeps its own
//! error (status and problem detail); the rules are these.

use crate::headers::SESSION_COOKIE;
use crate::token;

/// Largest request body, bytes (a larger one is a 413, at the edge and at an origin).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Whether a `content-length` value declares a body over [`MAX_BODY_BYTES`] (an unparsable one
/// declares nothing: the body is then counted as it is read).
pub fn declares_too_large(content_length: &str) -> bool {
    content_length
        .trim()
        .parse::<u64>()
        .is_ok_and(|len| len > MAX_BODY_BYTES as u64)
}

/// Whether a `content-type` value is JSON: `application/json` or `application/*+json`,
/// parameters and case aside. A body that is not is a 415.
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The session token of a request: from `authorization: Bearer <token>` when the request has
/// an `authorization` header (another scheme there means no token), else from the
/// `roam_session` cookie. `authorization` is the header's value (`None` when absent or not
/// text); `cookies` are the values of its `cookie` headers.
pub fn session_token<'a>(
    authorization: Option<&'a str>,
    cookies: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    match authorization {
        Some(value) => token::bearer(value),
        None => cookies
            .into_iter()
            .find_map(|header| cookie(header, SESSION_COOKIE)),
    }
}

/// The value of cookie `name` in one `cookie` header (the first, if it is there twice).
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_application_json_or_a_json_suffix() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain") && !is_json("") && !is_json("text/json"));
        assert!(!is_json("application/jsonx"));
    }

    #[test]
    fn body_limit_by_declared_length() {
        assert!(!declares_too_large("65536"));
        assert!(declares_too_large(" 65537 "));
        assert!(!declares_too_large("lots"));
    }

    #[test]
    fn bearer_wins_over_the_cookie_and_any_authorization_decides() {
        let cookies = ["a=1; roam_session=from-cookie", "roam_session=second"];
        assert_eq!(
            session_token(Some("Bearer from-header"), cookies),
            Some("from-header")
        );
        assert_eq!(session_token(None, cookies), Some("from-cookie"));
        assert_eq!(session_token(None, ["x=1", "roam_session=t"]), Some("t"));
        assert_eq!(session_token(Some("Basic dXNlcg=="), cookies), None);
        assert_eq!(session_token(None, ["roam_sessionx=1"]), None);
        assert_eq!(session_token(None, []), None);
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = "roam_session=t1; roam_bookmark=b1.5.x ;other=1";
        assert_eq!(cookie(h, "roam_bookmark"), Some("b1.5.x"));
        assert_eq!(cookie(h, "roam_session"), Some("t1"));
        assert_eq!(cookie(h, "roam"), None);
    }
}
