//! `portcullis apikey new`: a fresh API key, printed once, and the config entry holding only
//! its hash.

use portcullis_policy::apikey::generate_api_key;

use crate::cli::{ApiKeyArgs, ApiKeyCommand, NewApiKeyArgs};

pub fn run(args: &ApiKeyArgs) -> anyhow::Result<()> {
    match &args.command {
        ApiKeyCommand::New(new) => {
            let (key, hash) = generate_api_key();
            print!("{}", render_new(new, &key, &hash));
            Ok(())
        }
    }
}

/// The key and the YAML entry for `authentication.apiKeys.keys`. Without `--id` the id is
/// taken from the hash (public anyway: it sits in the config), so it names this key alone.
fn render_new(args: &NewApiKeyArgs, key: &str, hash: &str) -> String {
    let id = args.id.clone().unwrap_or_else(|| {
        let digits = hash.strip_prefix("sha256:").unwrap_or(hash);
        format!("key-{}", &digits[..digits.len().min(12)])
    });
    let mut entry = format!(
        "      - id: {}\n        hash: {}\n",
        quoted(&id),
        quoted(hash)
    );
    if let Some(tenant) = &args.tenant {
        entry.push_str(&format!("        tenantId: {}\n", quoted(tenant)));
    }
    entry.push_str("        scopes: []\n        status: ACTIVE\n");
    format!(
        "API key (shown once: give it to the client now; the gateway stores only its hash):\n\n  {key}\n\n\
         Add this entry under authentication.apiKeys.keys:\n\n{entry}"
    )
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn quoted(value: &str) -> String {
    serde_json::Value::String(value.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_policy::apikey::hash_api_key;

    #[test]
    fn the_entry_holds_the_hash_of_the_printed_key_and_never_the_key() {
        let (key, hash) = generate_api_key();
        let args = NewApiKeyArgs {
            id: Some("partner-7".into()),
            tenant: Some("tenant_abc".into()),
        };
        let text = render_new(&args, &key, &hash);
        assert_eq!(text.matches(key.as_str()).count(), 1, "{text}");
        let entry = text
            .split("authentication.apiKeys.keys:\n\n")
            .nth(1)
            .expect("entry");
        assert!(!entry.contains(&key));
        assert!(entry.contains(&format!("hash: \"{}\"", hash_api_key(&key))));

        // The entry loads as the config model's API key, and the key matches its hash.
        let document = format!(
            "authentication:\n  apiKeys:\n    keys:\n{}",
            entry.trim_end()
        );
        let (config, _) = portcullis_config::parse_str(&document, portcullis_config::Format::Yaml)
            .expect("the entry parses as config");
        let keys = config.authentication.api_keys.expect("apiKeys").keys;
        assert_eq!(keys[0].id, "partner-7");
        assert_eq!(keys[0].tenant_id.as_deref(), Some("tenant_abc"));
        assert_eq!(keys[0].hash, hash_api_key(&key));
        assert_eq!(keys[0].status, "ACTIVE");
    }

    #[test]
    fn without_an_id_one_is_derived_from_the_hash() {
        let args = NewApiKeyArgs {
            id: None,
            tenant: None,
        };
        let text = render_new(&args, "pcs_x", "sha256:0123456789abcdef");
        assert!(text.contains("id: \"key-0123456789ab\""), "{text}");
        assert!(!text.contains("tenantId"));
    }
}
