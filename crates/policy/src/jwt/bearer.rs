//! Taking the token out of the request: only `Authorization: Bearer`, exactly once.

use http::header::AUTHORIZATION;
use http::request::Parts;

use crate::failure::AuthFailure;

/// Tokens above this size are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The bearer token of `parts`, or why there is none. The query string is never read: tokens
/// in URLs end up in logs and caches. `Ok(None)` means no `Authorization` header at all, so an
/// `auth: optional` route can continue anonymously.
pub fn bearer_token(parts: &Parts) -> Result<Option<&str>, AuthFailure> {
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthFailure::MultipleAuthorizationHeaders);
    }
    let text = value
        .to_str()
        .map_err(|_| AuthFailure::MalformedAuthorizationHeader)?;
    let (scheme, token) = text
        .split_once(' ')
        .ok_or(AuthFailure::MalformedAuthorizationHeader)?;
    // The scheme is case-insensitive (RFC 9110 §11.1); the token is exactly one word.
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::MalformedAuthorizationHeader);
    }
    let token = token.trim_matches(' ');
    if token.is_empty() || token.contains(' ') {
        return Err(AuthFailure::MalformedAuthorizationHeader);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthFailure::TokenTooLarge);
    }
    Ok(Some(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, authorization: &[&str]) -> Parts {
        let mut builder = http::Request::builder().uri(uri);
        for value in authorization {
            builder = builder.header(AUTHORIZATION, *value);
        }
        builder.body(()).expect("request").into_parts().0
    }

    #[test]
    fn takes_the_token_from_a_single_bearer_header() {
        assert_eq!(
            bearer_token(&parts("/", &["Bearer abc.def.ghi"])),
            Ok(Some("abc.def.ghi"))
        );
        assert_eq!(bearer_token(&parts("/", &["bearer abc"])), Ok(Some("abc")));
        assert_eq!(bearer_token(&parts("/", &[])), Ok(None));
    }

    #[test]
    fn two_authorization_headers_are_refused() {
        let request = parts("/", &["Bearer a.b.c", "Bearer d.e.f"]);
        assert_eq!(
            bearer_token(&request),
            Err(AuthFailure::MultipleAuthorizationHeaders)
        );
    }

    #[test]
    fn a_token_in_the_query_string_is_never_read() {
        let request = parts("/orders?access_token=a.b.c&token=a.b.c", &[]);
        assert_eq!(bearer_token(&request), Ok(None));
    }

    #[test]
    fn other_schemes_and_shapes_are_malformed() {
        for value in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Token a.b.c",
            "a.b.c",
        ] {
            assert_eq!(
                bearer_token(&parts("/", &[value])),
                Err(AuthFailure::MalformedAuthorizationHeader),
                "{value}"
            );
        }
    }

    #[test]
    fn oversized_tokens_are_refused() {
        let big = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        assert_eq!(
            bearer_token(&parts("/", &[&big])),
            Err(AuthFailure::TokenTooLarge)
        );
        let fits = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES));
        assert!(bearer_token(&parts("/", &[&fits])).is_ok());
    }
}
