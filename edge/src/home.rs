//! Where a user's home region is, before the edge can read it from a session token.
//!
//! A log-in carries no token, so the edge would send it to the region nearest the user, and a
//! traveller (a Rome user logging in from New York) would pay two round trips: New York's
//! origin finds no local user, asks the email's claim where the user lives, then asks home.
//! The edge remembers the home city of the last user who signed up or logged in with this
//! browser in a cookie and sends the next log-in straight to that city's region: one round
//! trip to home. A wrong or stale cookie (someone else's account, a user who moved) costs only
//! time: the origin still finds the user. A sign-up is sent to the region of the city it names.

use roam_shared::headers::HOME_COOKIE;

/// How long the home cookie lives (a year: it only steers, it proves nothing).
const COOKIE_SECS: u32 = 365 * 24 * 3600;

/// The city a sign-up names in its body, if any.
pub fn sign_up_city(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("city")?.as_str().map(str::to_string)
}

/// The `set-cookie` value remembering the home city of the user a successful sign-up (the
/// user) or log-in (`{token, user}`) answered with.
pub fn remember(answer: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(answer).ok()?;
    let user = value.get("user").unwrap_or(&value);
    let city = user.get("city")?.as_str()?;
    let plain = !city.is_empty()
        && city.len() <= 64
        && city
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    plain.then(|| {
        format!(
            "{HOME_COOKIE}={city}; Path=/; Max-Age={COOKIE_SECS}; Secure; HttpOnly; SameSite=Lax"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_city_comes_from_the_body_or_the_answer() {
        assert_eq!(
            sign_up_city(br#"{"email":"a","city":"rome"}"#).as_deref(),
            Some("rome")
        );
        assert_eq!(sign_up_city(br#"{"email":"a"}"#), None);
        assert_eq!(sign_up_city(b"not json"), None);
        let login = br#"{"token":"t","user":{"city":"new-york","id":"x"}}"#;
        assert!(remember(login)
            .unwrap()
            .starts_with("roam_home=new-york; Path=/;"));
        assert!(remember(br#"{"city":"rome"}"#)
            .unwrap()
            .contains("Secure; HttpOnly"));
        assert_eq!(
            remember(br#"{"user":{"city":"a;b=c"}}"#),
            None,
            "never a header injection"
        );
        assert_eq!(remember(b"{}"), None);
    }
}
