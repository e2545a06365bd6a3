//! `Signature-Input`, `Signature` and `Content-Digest` (RFC 8941 dictionaries, parsed by
//! `portcullis_policy::signature::sfv`): never panics; parsed keys are unique and keep the
//! key grammar; every inner list serializes to a line that parses back to the same list (the
//! `@signature-params` line depends on it); the lines of the input, used as the three headers
//! of a request, never verify against a key the input cannot know.

use std::collections::HashSet;
use std::sync::OnceLock;

use http::HeaderValue;
use portcullis_policy::signature::sfv::{parse_dictionary, serialize_inner_list, Member};
use portcullis_policy::signature::{
    ContentDigest, KeyMaterial, NonceCache, SignatureKey, SignatureVerifier,
};
use portcullis_policy::{AuthMethod, Principal};

/// The `keyid` the seeds use, so that verification reaches the signature base.
pub const KEY_ID: &str = "fuzz-key";
const NOW: u64 = 1_700_000_000;

fn verifier() -> &'static SignatureVerifier {
    static VERIFIER: OnceLock<SignatureVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        SignatureVerifier::new(
            vec![SignatureKey {
                key_id: KEY_ID.to_string(),
                material: KeyMaterial::HmacSecret(b"fuzz-secret-the-input-never-sees".to_vec()),
                principal: Principal {
                    subject: "fuzz".into(),
                    tenant_id: None,
                    scopes: Vec::new(),
                    key_id: None,
                    products: Vec::new(),
                    method: AuthMethod::Signature,
                },
            }],
            300,
        )
    })
}

fn is_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'*'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*'))
}

fn check_dictionary(text: &str) {
    let Ok(members) = parse_dictionary(text) else {
        return;
    };
    let mut keys = HashSet::new();
    for (key, member) in &members {
        assert!(is_key(key), "{key:?}");
        assert!(keys.insert(key.as_str()), "duplicate key {key:?} survived");
        if let Member::InnerList(items, params) = member {
            let line = serialize_inner_list(items, params);
            let again = parse_dictionary(&format!("{key}={line}"))
                .unwrap_or_else(|_| panic!("serialized inner list does not parse: {line}"));
            assert_eq!(again, vec![(key.clone(), member.clone())], "{line}");
        }
    }
}

/// The target's contract for one input; panics on a violation.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_dictionary(text);
    let _ = ContentDigest::parse(text);

    let mut lines = text.splitn(3, '\n');
    let input = lines.next().unwrap_or_default();
    let signature = lines.next().unwrap_or(input);
    let digest = lines.next().unwrap_or(signature);
    let mut parts = http::Request::post("/v1/fuzz?x=1")
        .header("host", "api.fuzz")
        .body(())
        .map(|request| request.into_parts().0)
        .unwrap_or_else(|_| panic!("a fixed request builds"));
    for (name, value) in [
        ("signature-input", input),
        ("signature", signature),
        ("content-digest", digest),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            parts.headers.insert(name, value);
        }
    }
    let _ = ContentDigest::from_parts(&parts);
    let nonces = NonceCache::new(16);
    for has_body in [false, true] {
        let outcome = verifier().verify(&parts, has_body, NOW, &nonces);
        assert!(
            !matches!(outcome, Ok(Some(_))),
            "a signature verified without the secret"
        );
    }
}
