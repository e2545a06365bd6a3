//! Verifying a request's RFC 9421 signature against the configured partner keys.

use std::collections::HashMap;
use std::fmt;

use ed25519_dalek::{Signature as Ed25519Signature, VerifyingKey};
use hmac::{Hmac, Mac};
use http::request::Parts;
use portcullis_config::model::{
    SignatureAlgorithmName, SignatureAuthentication, SignatureKeyConfig,
};
use sha2::Sha256;

use super::base::{covered_names, signature_base};
use super::digest::CONTENT_DIGEST;
use super::nonce::NonceCache;
use super::sfv::{parse_dictionary, BareItem, Member};
use crate::failure::AuthFailure;
use crate::principal::{AuthMethod, Principal};

/// How far `created` may be from the gateway's clock, either way.
pub const DEFAULT_MAX_SKEW_SECONDS: u64 = 300;

const SIGNATURE_INPUT: &str = "signature-input";
const SIGNATURE: &str = "signature";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    HmacSha256,
    Ed25519,
}

impl SignatureAlgorithm {
    /// The RFC 9421 §6.2 registry name.
    pub fn name(self) -> &'static str {
        match self {
            SignatureAlgorithm::HmacSha256 => "hmac-sha256",
            SignatureAlgorithm::Ed25519 => "ed25519",
        }
    }
}

/// Key material. `Debug` never prints it.
#[derive(Clone)]
pub enum KeyMaterial {
    HmacSecret(Vec<u8>),
    Ed25519(VerifyingKey),
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyMaterial::HmacSecret(_) => f.write_str("HmacSecret(<redacted>)"),
            KeyMaterial::Ed25519(_) => f.write_str("Ed25519(<public key>)"),
        }
    }
}

/// One partner key: the `keyid` it signs with and the principal it maps to.
#[derive(Debug, Clone)]
pub struct SignatureKey {
    pub key_id: String,
    pub material: KeyMaterial,
    /// The principal a valid signature yields; its `key_id` and `method` are set on use.
    pub principal: Principal,
}

impl SignatureKey {
    /// The key `config` describes, with `material` resolved from its secret or public key.
    pub fn from_config(config: &SignatureKeyConfig, material: KeyMaterial) -> SignatureKey {
        SignatureKey {
            key_id: config.key_id.clone(),
            material,
            principal: Principal {
                subject: config.subject.clone(),
                tenant_id: config.tenant_id.clone(),
                scopes: config.scopes.clone(),
                key_id: Some(config.key_id.clone()),
                products: Vec::new(),
                method: AuthMethod::Signature,
            },
        }
    }

    pub fn algorithm(&self) -> SignatureAlgorithm {
        match self.material {
            KeyMaterial::HmacSecret(_) => SignatureAlgorithm::HmacSha256,
            KeyMaterial::Ed25519(_) => SignatureAlgorithm::Ed25519,
        }
    }

    fn verify(&self, base: &[u8], signature: &[u8]) -> bool {
        match &self.material {
            KeyMaterial::HmacSecret(secret) => {
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
                    return false;
                };
                mac.update(base);
                // `verify_slice` compares in constant time.
                mac.verify_slice(signature).is_ok()
            }
            KeyMaterial::Ed25519(public_key) => match Ed25519Signature::from_slice(signature) {
                Ok(signature) => public_key.verify_strict(base, &signature).is_ok(),
                Err(_) => false,
            },
        }
    }
}

/// All partner keys plus the freshness window.
#[derive(Debug, Clone)]
pub struct SignatureVerifier {
    keys: HashMap<String, SignatureKey>,
    max_skew_seconds: u64,
}

/// The parameters of the signature being checked.
struct SignatureParams<'a> {
    created: u64,
    expires: Option<u64>,
    key_id: &'a str,
    algorithm: Option<&'a str>,
    nonce: Option<&'a str>,
}

impl SignatureVerifier {
    /// Compiles `authentication.signatures`. `resolve` turns an `env:NAME`/`file:PATH`
    /// reference into its bytes (that is I/O, so the caller does it); an ed25519 `publicKey`
    /// may resolve to the raw 32 bytes or to their base64 text.
    pub fn from_config(
        config: &SignatureAuthentication,
        mut resolve: impl FnMut(&str) -> Result<Vec<u8>, String>,
    ) -> Result<Self, String> {
        let mut keys = Vec::with_capacity(config.keys.len());
        for (index, key) in config.keys.iter().enumerate() {
            let path = format!("authentication.signatures.keys[{index}]");
            let material = match key.algorithm {
                SignatureAlgorithmName::HmacSha256 => {
                    let reference = key.secret.as_deref().ok_or_else(|| {
                        format!("{path}.secret: an hmac-sha256 key needs `secret`")
                    })?;
                    let secret =
                        resolve(reference).map_err(|error| format!("{path}.secret: {error}"))?;
                    if secret.is_empty() {
                        return Err(format!("{path}.secret: `{reference}` is empty"));
                    }
                    KeyMaterial::HmacSecret(secret)
                }
                SignatureAlgorithmName::Ed25519 => {
                    let configured = key.public_key.as_deref().ok_or_else(|| {
                        format!("{path}.publicKey: an ed25519 key needs `publicKey`")
                    })?;
                    let bytes = if configured.starts_with("file:") {
                        resolve(configured).map_err(|error| format!("{path}.publicKey: {error}"))?
                    } else {
                        configured.as_bytes().to_vec()
                    };
                    KeyMaterial::Ed25519(ed25519_public_key(&bytes).ok_or_else(|| {
                        format!(
                            "{path}.publicKey: not a 32-byte Ed25519 public key (raw or base64)"
                        )
                    })?)
                }
            };
            keys.push(SignatureKey::from_config(key, material));
        }
        Ok(Self::new(keys, config.max_skew_seconds))
    }

    pub fn new(keys: Vec<SignatureKey>, max_skew_seconds: u64) -> Self {
        SignatureVerifier {
            keys: keys
                .into_iter()
                .map(|key| (key.key_id.clone(), key))
                .collect(),
            max_skew_seconds,
        }
    }

    /// Verifies the request's signature. `Ok(None)`: the request carries no `Signature-Input`
    /// nor `Signature` (not a signed request). `has_body` says whether a body follows (then
    /// `content-digest` must be covered, and the caller must check the body against it with
    /// [`super::ContentDigest`]). Only the first signature label is checked.
    pub fn verify(
        &self,
        parts: &Parts,
        has_body: bool,
        now_unix: u64,
        nonces: &NonceCache,
    ) -> Result<Option<Principal>, AuthFailure> {
        let (Some(input), Some(signatures)) = (
            combined_field(parts, SIGNATURE_INPUT)?,
            combined_field(parts, SIGNATURE)?,
        ) else {
            let any = parts.headers.contains_key(SIGNATURE_INPUT)
                || parts.headers.contains_key(SIGNATURE);
            return if any {
                Err(AuthFailure::SignatureMalformed)
            } else {
                Ok(None)
            };
        };
        let inputs = parse_dictionary(&input).map_err(|_| AuthFailure::SignatureMalformed)?;
        let signatures =
            parse_dictionary(&signatures).map_err(|_| AuthFailure::SignatureMalformed)?;
        let Some((label, Member::InnerList(covered, params))) = inputs.first() else {
            return Err(AuthFailure::SignatureMalformed);
        };
        let signature = signatures
            .iter()
            .find(|(name, _)| name == label)
            .and_then(|(_, member)| match member {
                Member::Item(item) => match &item.bare {
                    BareItem::ByteSequence(bytes) => Some(bytes),
                    _ => None,
                },
                Member::InnerList(..) => None,
            })
            .ok_or(AuthFailure::SignatureMalformed)?;

        let names = covered_names(covered)?;
        let mut required = vec!["@method", "@authority", "@path"];
        if parts.uri.query().is_some() {
            required.push("@query");
        }
        if has_body {
            required.push(CONTENT_DIGEST);
        }
        if !required.iter().all(|name| names.contains(name)) {
            return Err(AuthFailure::SignatureMissingComponent);
        }

        let signature_params = read_params(params)?;
        let skew = self.max_skew_seconds;
        if signature_params.created > now_unix.saturating_add(skew)
            || now_unix > signature_params.created.saturating_add(skew)
            || signature_params
                .expires
                .is_some_and(|expires| now_unix >= expires)
        {
            return Err(AuthFailure::SignatureStale);
        }
        let key = self
            .keys
            .get(signature_params.key_id)
            .ok_or(AuthFailure::SignatureUnknownKey)?;
        if signature_params
            .algorithm
            .is_some_and(|algorithm| algorithm != key.algorithm().name())
        {
            return Err(AuthFailure::SignatureAlgorithmMismatch);
        }
        let base = signature_base(parts, covered, params)?;
        if !key.verify(base.as_bytes(), signature) {
            return Err(AuthFailure::SignatureInvalid);
        }
        // Only a valid signature may consume a nonce, or anyone could burn a partner's nonces.
        if let Some(nonce) = signature_params.nonce {
            let remember_until = signature_params
                .created
                .saturating_add(skew)
                .saturating_add(1);
            nonces.check_and_remember(&key.key_id, nonce, remember_until, now_unix)?;
        }
        let mut principal = key.principal.clone();
        principal.key_id = Some(key.key_id.clone());
        principal.method = AuthMethod::Signature;
        Ok(Some(principal))
    }
}

/// A public key from 32 raw bytes or their (standard) base64 text; `None` when the bytes are
/// neither, or are not a point on the curve.
pub fn ed25519_public_key(bytes: &[u8]) -> Option<VerifyingKey> {
    let raw: [u8; 32] = match bytes.try_into() {
        Ok(raw) => raw,
        Err(_) => {
            use base64::Engine;
            let text = std::str::from_utf8(bytes).ok()?.trim();
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()?
                .try_into()
                .ok()?
        }
    };
    VerifyingKey::from_bytes(&raw).ok()
}

/// All lines of a structured header joined with `, ` (RFC 8941 §4.2), `None` when absent.
fn combined_field(parts: &Parts, name: &str) -> Result<Option<String>, AuthFailure> {
    let mut combined: Option<String> = None;
    for value in parts.headers.get_all(name) {
        let text = value
            .to_str()
            .map_err(|_| AuthFailure::SignatureMalformed)?;
        match &mut combined {
            Some(existing) => {
                existing.push_str(", ");
                existing.push_str(text);
            }
            None => combined = Some(text.to_string()),
        }
    }
    Ok(combined)
}

fn read_params(params: &[(String, BareItem)]) -> Result<SignatureParams<'_>, AuthFailure> {
    let mut created = None;
    let mut expires = None;
    let mut key_id = None;
    let mut algorithm = None;
    let mut nonce = None;
    for (name, value) in params {
        match (name.as_str(), value) {
            ("created", BareItem::Integer(seconds)) => created = u64::try_from(*seconds).ok(),
            ("expires", BareItem::Integer(seconds)) => expires = u64::try_from(*seconds).ok(),
            ("keyid", BareItem::String(id)) => key_id = Some(id.as_str()),
            ("alg", BareItem::String(name)) => algorithm = Some(name.as_str()),
            ("nonce", BareItem::String(value)) => nonce = Some(value.as_str()),
            ("created" | "expires" | "keyid" | "alg" | "nonce", _) => {
                return Err(AuthFailure::SignatureMalformed)
            }
            // `tag` and future parameters are covered by the signature but not interpreted.
            _ => {}
        }
    }
    Ok(SignatureParams {
        created: created.ok_or(AuthFailure::SignatureMalformed)?,
        expires,
        key_id: key_id.ok_or(AuthFailure::SignatureMalformed)?,
        algorithm,
        nonce,
    })
}
