//! What the node's treasurer app and the hub's dashboard share on the web:
//! one copy of each access rule.
//!
//! - [`password`]: Argon2id hashing and the timing-blind check.
//! - [`sessions`]: session tokens stored only as their SHA-256, with the
//!   per-session CSRF token, in a table of the app's own users database.
//! - [`throttle`]: the login throttle per user name.
//! - cookies (`HttpOnly; SameSite=Strict`), constant-time token comparison
//!   and HTML escaping, here.

pub mod lang;
pub mod password;
pub mod sessions;
pub mod throttle;

use http::{HeaderMap, HeaderValue, header};

pub const SESSION_COOKIE: &str = "sajja_session";
/// The double-submit token of a login form, before any session exists.
pub const LOGIN_COOKIE: &str = "sajja_login";
pub const LANG_COOKIE: &str = "sajja_lang";

/// Reads one cookie from a request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language code the reader chose (`th` unless switched).
pub fn lang_code(headers: &HeaderMap) -> &str {
    cookie(headers, LANG_COOKIE).unwrap_or("th")
}

/// A `Set-Cookie` value: never readable by scripts, never sent from another site.
pub fn set_cookie(name: &str, value: &str, max_age_s: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// Equal strings, compared in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// 256 random bits as 64 hex digits: session, CSRF and one-time tokens.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// A login form's token: the one in its cookie `name` if well formed, else a
/// new one.
pub fn login_token(headers: &HeaderMap, name: &str) -> String {
    cookie(headers, name)
        .filter(|t| t.len() == 64)
        .map_or_else(random_token, str::to_string)
}

/// A refusal page: one line saying why (in the reader's language), styled by
/// the app's stylesheet at `css`, with a way back.
pub fn refusal_page(status: http::StatusCode, message: &str, css: &str) -> http::Response<String> {
    let body = format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <link rel=stylesheet href={css}><main><p class=error id=refusal>{}</p>\
         <p><a class=button href=/>↩</a></p></main>",
        escape_html(message)
    );
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A stylesheet compiled into the binary, cached by browsers for an hour.
pub fn stylesheet(css: &'static str) -> http::Response<String> {
    let mut response = http::Response::new(css.to_string());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    response
}

/// Text made safe inside HTML, for the few pages not rendered by a template.
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_read_by_its_name_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; sajja_lang=en; b=2"),
        );
        assert_eq!(lang_code(&headers), "en");
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), None);
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
    }
}
