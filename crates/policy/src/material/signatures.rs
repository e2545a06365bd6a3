//! `authentication.signatures`: every partner key with its secret or public key resolved.

use portcullis_config::model::{
    SignatureAlgorithmName, SignatureAuthentication, SignatureKeyConfig,
};

use super::secrets::SecretSource;
use super::Build;
use crate::signature::{ed25519_public_key, KeyMaterial, SignatureKey, SignatureVerifier};

pub(super) fn build(
    config: &SignatureAuthentication,
    secrets: &dyn SecretSource,
    build: &mut Build,
) -> Option<SignatureVerifier> {
    let before = build.problems.len();
    let mut keys = Vec::with_capacity(config.keys.len());
    for (index, key) in config.keys.iter().enumerate() {
        let path = format!("authentication.signatures.keys[{index}]");
        if let Some(material) = key_material(&path, key, secrets, build) {
            keys.push(SignatureKey::from_config(key, material));
        }
    }
    (build.problems.len() == before).then(|| SignatureVerifier::new(keys, config.max_skew_seconds))
}

/// The key's material; `None` when it is refused (a problem is recorded) or deferred.
fn key_material(
    path: &str,
    key: &SignatureKeyConfig,
    secrets: &dyn SecretSource,
    build: &mut Build,
) -> Option<KeyMaterial> {
    match key.algorithm {
        SignatureAlgorithmName::HmacSha256 => {
            let field = format!("{path}.secret");
            let Some(reference) = key.secret.as_deref() else {
                build.problem(
                    &field,
                    "an hmac-sha256 key needs `secret` (`env:NAME` or `file:PATH`)",
                );
                return None;
            };
            let secret = build.secret(&field, reference, secrets)?;
            if secret.as_bytes().is_empty() {
                build.problem(
                    &field,
                    format!("`{reference}` is empty: put the shared secret there"),
                );
                return None;
            }
            Some(KeyMaterial::HmacSecret(secret.into_bytes()))
        }
        SignatureAlgorithmName::Ed25519 => {
            let field = format!("{path}.publicKey");
            let Some(configured) = key.public_key.as_deref() else {
                build.problem(
                    &field,
                    "an ed25519 key needs `publicKey` (base64 of the 32-byte key, or `file:PATH`)",
                );
                return None;
            };
            let from_file = configured.starts_with("file:");
            let bytes = if from_file {
                build.secret(&field, configured, secrets)?.into_bytes()
            } else {
                configured.as_bytes().to_vec()
            };
            match ed25519_public_key(&bytes) {
                Some(public_key) => Some(KeyMaterial::Ed25519(public_key)),
                None => {
                    let what = if from_file {
                        format!("`{configured}` does not hold")
                    } else {
                        format!("`{configured}` is not")
                    };
                    build.problem(&field, format!("{what} a valid 32-byte Ed25519 public key (raw bytes or base64): use the partner's public key"));
                    None
                }
            }
        }
    }
}
