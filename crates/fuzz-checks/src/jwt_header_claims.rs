//! JWT header and claims JSON (`portcullis_policy::jwt`): the input is a header object, a
//! newline, and a claims object (no newline: both are the same bytes). Never panics; the
//! duplicate-refusing parser agrees with `serde_json` on every input without a repeated name;
//! a screened header carries only an allowed `alg` and an accepted `typ`; a token whose claims
//! repeat a name is refused for exactly that; no token verifies without keys; scopes read from
//! a string are all RFC 6749 scope-tokens (no space or other whitespace inside).

use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_config::model::JwtIssuer;
use portcullis_policy::jwt::{
    decode_json_segment, parse_object, screen_header, IssuerPolicy, JsonRefusal, JwtVerifier,
    KeySet, TokenTypes, DEFAULT_ALGORITHMS, MAX_TOKEN_BYTES,
};
use portcullis_policy::scope::{is_scope_token, split_scope};
use portcullis_policy::AuthFailure;
use serde_json::Value;

/// The issuer the seeds name in `iss`, so that verification reaches header screening.
pub const ISSUER: &str = "https://issuer.fuzz";
const NOW: u64 = 1_700_000_000;

fn verifier() -> &'static JwtVerifier {
    static VERIFIER: OnceLock<JwtVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let issuer: JwtIssuer = serde_json::from_value(serde_json::json!({
            "issuer": ISSUER,
            "jwksUri": "http://127.0.0.1:9/jwks",
        }))
        .expect("a valid issuer");
        let policy = IssuerPolicy::from_config(&issuer).expect("default algorithms");
        JwtVerifier::new(vec![(policy, Arc::new(KeySet::default()))])
    })
}

/// The strict parser against `serde_json`, which keeps the last of repeated names.
fn check_json(bytes: &[u8]) {
    let strict = parse_object(bytes);
    let loose = serde_json::from_slice::<Value>(bytes);
    match (&strict, &loose) {
        (Ok(map), Ok(value)) => assert_eq!(
            &Value::Object(map.clone()),
            value,
            "accepted objects read as serde_json reads them"
        ),
        (Ok(_), Err(_)) => panic!("accepted what serde_json refuses"),
        (Err(JsonRefusal::Malformed), Ok(Value::Object(_))) => {
            panic!("refused a well-formed object as malformed")
        }
        _ => {}
    }
    let segment = URL_SAFE_NO_PAD.encode(bytes);
    let expected = strict.map_err(|refusal| match refusal {
        JsonRefusal::Malformed => AuthFailure::MalformedToken,
        JsonRefusal::DuplicateMember => AuthFailure::DuplicateMember,
    });
    assert_eq!(decode_json_segment(&segment), expected);
}

/// The target's contract for one input; panics on a violation.
pub fn check(data: &[u8]) {
    let (header, claims) = match data.iter().position(|&byte| byte == b'\n') {
        Some(newline) => (&data[..newline], &data[newline + 1..]),
        None => (data, data),
    };
    check_json(header);
    check_json(claims);

    let header_segment = URL_SAFE_NO_PAD.encode(header);
    if let Ok(screened) = screen_header(&header_segment, DEFAULT_ALGORITHMS, &TokenTypes::default())
    {
        assert!(DEFAULT_ALGORITHMS.contains(&screened.algorithm));
        let parsed = parse_object(header).expect("a screened header parses");
        match parsed.get("typ") {
            None => {}
            Some(Value::String(typ)) => assert!(TokenTypes::default().accepts(typ)),
            Some(other) => panic!("screened a non-string typ {other}"),
        }
    }

    let token = format!(
        "{header_segment}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(claims)
    );
    let verified = verifier().verify(&token, NOW);
    assert!(verified.is_err(), "nothing verifies without keys");
    if token.len() <= MAX_TOKEN_BYTES && parse_object(claims) == Err(JsonRefusal::DuplicateMember) {
        assert_eq!(verified.err(), Some(AuthFailure::DuplicateMember));
    }

    if let Ok(map) = parse_object(claims) {
        if let Some(Value::String(scope)) = map.get("scope") {
            for token in split_scope(scope) {
                assert!(is_scope_token(&token), "{token:?}");
            }
        }
    }
}
