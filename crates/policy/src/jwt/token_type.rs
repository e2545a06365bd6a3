//! The JOSE `typ` header as a media type (RFC 7515 §4.1.9): compared case-insensitively, with
//! `application/` implied when the value has no `/`, so `at+jwt`, `AT+JWT` and
//! `application/at+jwt` are one type. Used to refuse tokens that say they are not access
//! tokens (`refresh+jwt`, `id_token+jwt`, `JOSE`), which an issuer may sign with the same keys.

use portcullis_config::model::DEFAULT_ALLOWED_TOKEN_TYPES;

/// One issuer's accepted `typ` values, normalised once at compile time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTypes {
    normalised: Vec<String>,
}

impl TokenTypes {
    pub fn new(types: &[String]) -> Self {
        TokenTypes {
            normalised: types.iter().map(|typ| normalise(typ)).collect(),
        }
    }

    /// Whether a present `typ` value is accepted. No trimming: ` JWT` is not `JWT`.
    pub fn accepts(&self, typ: &str) -> bool {
        if typ.is_empty() {
            return false;
        }
        let typ = normalise(typ);
        self.normalised.contains(&typ)
    }
}

impl Default for TokenTypes {
    /// `JWT`, `at+jwt` and `application/at+jwt`.
    fn default() -> Self {
        TokenTypes {
            normalised: DEFAULT_ALLOWED_TOKEN_TYPES
                .iter()
                .map(|typ| normalise(typ))
                .collect(),
        }
    }
}

fn normalise(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    if lower.contains('/') {
        lower
    } else {
        format!("application/{lower}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_compare_case_insensitively_with_application_implied() {
        let types = TokenTypes::default();
        for typ in [
            "JWT",
            "jwt",
            "application/JWT",
            "at+jwt",
            "Application/At+Jwt",
        ] {
            assert!(types.accepts(typ), "{typ}");
        }
        for typ in [
            "",
            "refresh+jwt",
            "text/jwt",
            "at+jwt ",
            "application/",
            "JOSE",
        ] {
            assert!(!types.accepts(typ), "{typ}");
        }
    }
}
