//! Parsing and screening the JOSE header ourselves, before any key lookup or crypto, so that
//! dangerous headers are refused by code we control rather than by a library's defaults.

use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::strict_json::{parse_object, JsonRefusal};
use super::token_type::TokenTypes;
use crate::failure::AuthFailure;

/// What the verifier needs from a header that passed screening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenedHeader {
    pub algorithm: Algorithm,
    /// `kid`, matched only by exact string equality against the key set.
    pub key_id: Option<String>,
}

/// Decodes one base64url segment (no padding, URL alphabet only) into a JSON object. An object
/// that repeats a member name anywhere is refused (`DuplicateMember`): see `strict_json`.
#[doc(hidden)]
pub fn decode_json_segment(segment: &str) -> Result<Map<String, Value>, AuthFailure> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthFailure::MalformedToken)?;
    parse_object(&bytes).map_err(|refusal| match refusal {
        JsonRefusal::Malformed => AuthFailure::MalformedToken,
        JsonRefusal::DuplicateMember => AuthFailure::DuplicateMember,
    })
}

/// Screens the header segment of a compact JWS:
/// * `alg` must be a string; `none` in any casing is refused outright;
/// * `alg` must be in `allowed` (the issuer's list);
/// * any `crit` is refused: Portcullis implements no JWS extensions (RFC 7515 §4.1.11);
/// * `typ`, when present, must be one of `types` (an access token, not a refresh or ID token);
/// * `jku`, `x5u`, `jwk`, `x5c` are ignored: keys come only from the issuer's configured set.
pub fn screen_header(
    segment: &str,
    allowed: &[Algorithm],
    types: &TokenTypes,
) -> Result<ScreenedHeader, AuthFailure> {
    let header = decode_json_segment(segment)?;
    let algorithm_name = match header.get("alg") {
        Some(Value::String(name)) => name.as_str(),
        Some(_) => return Err(AuthFailure::MalformedToken),
        None => return Err(AuthFailure::AlgorithmNotAllowed),
    };
    if algorithm_name.trim().eq_ignore_ascii_case("none") {
        return Err(AuthFailure::AlgorithmNone);
    }
    // Names are case-sensitive (RFC 7518 §3.1): `rs256` is not RS256.
    let algorithm =
        Algorithm::from_str(algorithm_name).map_err(|_| AuthFailure::AlgorithmNotAllowed)?;
    if !allowed.contains(&algorithm) {
        return Err(AuthFailure::AlgorithmNotAllowed);
    }
    if header.contains_key("crit") {
        return Err(AuthFailure::UnsupportedCriticalHeader);
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if types.accepts(typ) => {}
        Some(_) => return Err(AuthFailure::TokenType),
    }
    let key_id = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(AuthFailure::MalformedToken),
    };
    Ok(ScreenedHeader { algorithm, key_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    const ALLOWED: &[Algorithm] = &[Algorithm::RS256, Algorithm::ES256];

    fn screen_header(segment: &str, allowed: &[Algorithm]) -> Result<ScreenedHeader, AuthFailure> {
        super::screen_header(segment, allowed, &TokenTypes::default())
    }

    #[test]
    fn alg_none_is_refused_in_every_casing() {
        for alg in ["none", "None", "NONE", "nOnE", " none"] {
            let header = encode(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            assert_eq!(
                screen_header(&header, ALLOWED),
                Err(AuthFailure::AlgorithmNone),
                "{alg}"
            );
        }
    }

    #[test]
    fn algorithms_outside_the_allow_list_are_refused() {
        for alg in ["HS256", "RS512", "rs256", "ES512", ""] {
            let header = encode(&format!(r#"{{"alg":"{alg}"}}"#));
            assert_eq!(
                screen_header(&header, ALLOWED),
                Err(AuthFailure::AlgorithmNotAllowed),
                "{alg}"
            );
        }
        assert_eq!(
            screen_header(&encode("{}"), ALLOWED),
            Err(AuthFailure::AlgorithmNotAllowed)
        );
        assert_eq!(
            screen_header(&encode(r#"{"alg":256}"#), ALLOWED),
            Err(AuthFailure::MalformedToken)
        );
    }

    #[test]
    fn any_crit_is_refused() {
        let header = encode(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#);
        assert_eq!(
            screen_header(&header, ALLOWED),
            Err(AuthFailure::UnsupportedCriticalHeader)
        );
        let b64 = encode(r#"{"alg":"RS256","crit":["b64"],"b64":false}"#);
        assert_eq!(
            screen_header(&b64, ALLOWED),
            Err(AuthFailure::UnsupportedCriticalHeader)
        );
    }

    #[test]
    fn key_location_headers_are_ignored_and_kid_is_kept_verbatim() {
        let header = encode(
            r#"{"alg":"RS256","kid":"../../etc/passwd","jku":"http://127.0.0.1:1/jwks","x5u":"http://127.0.0.1:1/x","jwk":{"kty":"oct","k":"AA"}}"#,
        );
        let screened = screen_header(&header, ALLOWED).expect("screened");
        assert_eq!(screened.algorithm, Algorithm::RS256);
        assert_eq!(screened.key_id.as_deref(), Some("../../etc/passwd"));
    }

    #[test]
    fn only_access_token_types_pass_by_default() {
        let cases = [
            (r#"{"alg":"RS256"}"#, Ok(())),
            (r#"{"alg":"RS256","typ":"JWT"}"#, Ok(())),
            (r#"{"alg":"RS256","typ":"jwt"}"#, Ok(())),
            (r#"{"alg":"RS256","typ":"at+jwt"}"#, Ok(())),
            (r#"{"alg":"RS256","typ":"AT+JWT"}"#, Ok(())),
            (r#"{"alg":"RS256","typ":"application/at+jwt"}"#, Ok(())),
            (r#"{"alg":"RS256","typ":"Application/AT+JWT"}"#, Ok(())),
            (
                r#"{"alg":"RS256","typ":"refresh+jwt"}"#,
                Err(AuthFailure::TokenType),
            ),
            (
                r#"{"alg":"RS256","typ":"id_token+jwt"}"#,
                Err(AuthFailure::TokenType),
            ),
            (
                r#"{"alg":"RS256","typ":"JOSE"}"#,
                Err(AuthFailure::TokenType),
            ),
            (
                r#"{"alg":"RS256","typ":"JOSE+JSON"}"#,
                Err(AuthFailure::TokenType),
            ),
            (
                r#"{"alg":"RS256","typ":"application/jwt+x"}"#,
                Err(AuthFailure::TokenType),
            ),
            (r#"{"alg":"RS256","typ":""}"#, Err(AuthFailure::TokenType)),
            (
                r#"{"alg":"RS256","typ":" JWT"}"#,
                Err(AuthFailure::TokenType),
            ),
            (r#"{"alg":"RS256","typ":1}"#, Err(AuthFailure::TokenType)),
            (r#"{"alg":"RS256","typ":null}"#, Err(AuthFailure::TokenType)),
        ];
        for (json, expected) in cases {
            let outcome = screen_header(&encode(json), ALLOWED).map(|_| ());
            assert_eq!(outcome, expected, "{json}");
        }
    }

    #[test]
    fn an_issuer_can_list_its_own_types() {
        let types = TokenTypes::new(&["secevent+jwt".to_string()]);
        let header = encode(r#"{"alg":"RS256","typ":"application/secevent+jwt"}"#);
        assert!(super::screen_header(&header, ALLOWED, &types).is_ok());
        let jwt = encode(r#"{"alg":"RS256","typ":"JWT"}"#);
        assert_eq!(
            super::screen_header(&jwt, ALLOWED, &types),
            Err(AuthFailure::TokenType)
        );
    }

    #[test]
    fn repeated_header_members_are_refused() {
        for json in [
            r#"{"alg":"RS256","alg":"none"}"#,
            r#"{"alg":"RS256","kid":"a","kid":"b"}"#,
            r#"{"alg":"RS256","typ":"JWT","typ":"refresh+jwt"}"#,
        ] {
            assert_eq!(
                screen_header(&encode(json), ALLOWED),
                Err(AuthFailure::DuplicateMember),
                "{json}"
            );
        }
    }

    #[test]
    fn malformed_segments_are_refused() {
        for segment in [
            "",
            "!!!",
            "eyJhbGciOiJSUzI1NiJ9=",
            "W10",
            "bnVsbA",
            "eyJhbGci",
        ] {
            assert_eq!(
                screen_header(segment, ALLOWED),
                Err(AuthFailure::MalformedToken),
                "{segment}"
            );
        }
    }
}
