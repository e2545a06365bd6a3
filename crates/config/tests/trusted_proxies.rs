//! `listeners[].trustedProxies` through the whole load: the one CIDR parser's refusals arrive as
//! errors naming the field, the value and the fix.

mod common;

use common::{expect_error, load, with_routes, GOOD_ROUTE};

fn with_proxies(list: &str) -> String {
    with_routes(GOOD_ROUTE)
        + &format!(
            "listeners:\n  - {{name: main, address: \"127.0.0.1:8080\", trustedProxies: {list}}}\n"
        )
}

#[test]
fn blocks_and_bare_addresses_load() {
    let loaded = load(&with_proxies(
        "[10.0.0.0/8, \"192.168.1.7\", \"fd00::/8\", \"::1\"]",
    ))
    .expect("valid blocks");
    assert_eq!(
        loaded.config().listeners[0].trusted_proxies,
        ["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"]
    );
}

#[test]
fn bad_blocks_are_refused_naming_field_value_and_fix() {
    let cases: [(&str, &[&str]); 6] = [
        (
            "[\" 10.0.0.0/8\"]",
            &["` 10.0.0.0/8`", "whitespace", "`10.0.0.0/8`"],
        ),
        ("[\"10.0.0.0/8\\t\"]", &["whitespace"]),
        ("[10.0.0.0/33]", &["10.0.0.0/33", "ADDRESS/PREFIX"]),
        ("[\"10.0.0.0 / 8\"]", &["ADDRESS/PREFIX"]),
        (
            "[10.0.0.1/8]",
            &["host bits", "`10.0.0.0/8`", "`10.0.0.1/32`"],
        ),
        ("[\"fd00::1/8\"]", &["host bits", "`fd00::/8`"]),
    ];
    for (list, fragments) in cases {
        expect_error(
            &with_proxies(list),
            "listeners[0].trustedProxies[0]",
            fragments,
        );
    }
}
