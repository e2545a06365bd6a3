//! The few rules on names and texts operators give. Everything else is stored and shown
//! verbatim (quotes, SQL, control characters): values only ever travel as bind parameters and
//! JSON strings.

pub const MAX_TOKEN_NAME_CHARS: usize = 200;
pub const MAX_MESSAGE_CHARS: usize = 10_000;
const MAX_ENVIRONMENT_CHARS: usize = 63;

/// Environment names are kebab-case (they appear in URLs, logs and data-plane flags).
pub fn check_environment(name: &str) -> Result<(), String> {
    let kebab = !name.is_empty()
        && name.len() <= MAX_ENVIRONMENT_CHARS
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if kebab {
        Ok(())
    } else {
        Err(format!(
            "environment name {name:?} is not kebab-case: use 1 to {MAX_ENVIRONMENT_CHARS} lower-case letters, digits and single hyphens, such as `staging-eu`"
        ))
    }
}

/// Token names only need to be present and of a sane length.
pub fn check_token_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("name is empty; name the token's holder, such as `ci-deploy`".into());
    }
    check_length("name", name, MAX_TOKEN_NAME_CHARS)
}

pub fn check_message(message: &str) -> Result<(), String> {
    check_length("message", message, MAX_MESSAGE_CHARS)
}

/// PostgreSQL cannot keep U+0000 in text or JSON, so no backend accepts it: the same input is
/// refused the same way whatever the store.
pub fn check_no_nul(field: &str, text: &str) -> Result<(), String> {
    if text.contains('\0') {
        return Err(format!(
            "{field} contains a NUL character (U+0000), which the store cannot keep; remove it"
        ));
    }
    Ok(())
}

/// The path of the first string or key holding U+0000 in a JSON document.
pub fn find_nul(value: &serde_json::Value) -> Option<String> {
    let mut pending = vec![(String::new(), value)];
    while let Some((path, value)) = pending.pop() {
        match value {
            serde_json::Value::String(text) if text.contains('\0') => return Some(path),
            serde_json::Value::Array(items) => pending.extend(
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| (format!("{path}[{index}]"), item)),
            ),
            serde_json::Value::Object(members) => {
                for (key, member) in members {
                    let child = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    if key.contains('\0') {
                        return Some(child);
                    }
                    pending.push((child, member));
                }
            }
            _ => {}
        }
    }
    None
}

fn check_length(field: &str, text: &str, limit: usize) -> Result<(), String> {
    check_no_nul(field, text)?;
    let length = text.chars().count();
    if length > limit {
        return Err(format!(
            "{field} is {length} characters long; at most {limit}: shorten it"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_found_with_their_path() {
        let document = serde_json::json!({"a": [1, {"b": "x\u{0}"}], "c": "fine"});
        assert_eq!(find_nul(&document), Some("a[1].b".to_string()));
        assert_eq!(
            find_nul(&serde_json::json!({"k\u{0}": 1})),
            Some("k\u{0}".to_string())
        );
        assert_eq!(find_nul(&serde_json::json!({"a": "\u{7}\""})), None);
    }

    #[test]
    fn environment_names_are_kebab_case() {
        for good in ["production", "staging-eu", "a", "env-2"] {
            assert!(check_environment(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Prod",
            "-a",
            "a-",
            "a--b",
            "a_b",
            "a b",
            "ä",
            &"a".repeat(64),
        ] {
            assert!(check_environment(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_names_and_messages_keep_any_character() {
        assert!(check_token_name("ci \"deploy\"; DROP TABLE api_tokens;\u{7}").is_ok());
        assert!(check_token_name("  ").is_err());
        assert!(check_token_name(&"x".repeat(201)).is_err());
        assert!(check_message("").is_ok());
        assert!(check_message("'; DELETE FROM audit_log; --\n\t\u{1b}[31m").is_ok());
        assert!(check_message("a\u{0}b").is_err());
        assert!(check_token_name("a\u{0}b").is_err());
        assert!(check_message(&"m".repeat(10_001)).is_err());
    }
}
