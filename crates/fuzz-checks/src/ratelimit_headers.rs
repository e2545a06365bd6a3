//! The `RateLimit-Policy`, `RateLimit` and `Retry-After` writers
//! (`portcullis_ratelimit::headers`) with arbitrary names and values, raw or through bucket
//! and quota decisions: never panic, and always write a valid header value that parses as a
//! Structured Field List of sf-strings with two sf-integer parameters, one member per item,
//! names and numbers as the items hold them (non-printable name characters as `?`, numbers
//! capped at 15 digits).

use std::time::Duration;

use http::HeaderValue;
use portcullis_ratelimit::bucket::{self, BucketParams};
use portcullis_ratelimit::headers::{
    retry_after_seconds, write_policy_header, write_status_header, PolicyItem, StatusItem,
};
use portcullis_ratelimit::QuotaDecision;

const SF_INTEGER_MAX: u64 = 999_999_999_999_999;

/// Reads the input as a stream of fields; past its end every field reads as zero.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&byte, rest)) => {
                self.0 = rest;
                byte
            }
            None => 0,
        }
    }

    fn u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        for byte in &mut bytes {
            *byte = self.u8();
        }
        u64::from_le_bytes(bytes)
    }

    fn f64(&mut self) -> f64 {
        f64::from_bits(self.u64())
    }

    fn name(&mut self) -> String {
        let length = usize::from(self.u8() % 24).min(self.0.len());
        let (name, rest) = self.0.split_at(length);
        self.0 = rest;
        String::from_utf8_lossy(name).into_owned()
    }
}

/// One parsed member: the unescaped name and the two integer parameters.
type Member = (String, u64, u64);

/// Parses `"name";a=1;b=2, ...` strictly, with `keys` as the parameter names; panics otherwise.
fn parse_list(value: &str, keys: [&str; 2]) -> Vec<Member> {
    let mut members = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let body = rest.strip_prefix('"').expect("an sf-string opens a member");
        let mut name = String::new();
        let mut chars = body.char_indices();
        let end = loop {
            match chars.next().expect("the sf-string closes") {
                (index, '"') => break index,
                (_, '\\') => match chars.next() {
                    Some((_, escaped @ ('"' | '\\'))) => name.push(escaped),
                    other => panic!("bad escape {other:?}"),
                },
                (_, character @ ' '..='~') => name.push(character),
                (_, other) => panic!("{other:?} in an sf-string"),
            }
        };
        rest = &body[end + 1..];
        let mut numbers = [0u64; 2];
        for (key, number) in keys.iter().zip(numbers.iter_mut()) {
            rest = rest
                .strip_prefix(';')
                .and_then(|after| after.strip_prefix(key))
                .and_then(|after| after.strip_prefix('='))
                .unwrap_or_else(|| panic!("parameter {key} expected in {value:?}"));
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            assert!((1..=15).contains(&digits), "sf-integer of {digits} digits");
            *number = rest[..digits].parse().expect("digits");
            rest = &rest[digits..];
        }
        members.push((name, numbers[0], numbers[1]));
        if !rest.is_empty() {
            rest = rest
                .strip_prefix(", ")
                .expect("members are separated by `, `");
            assert!(!rest.is_empty(), "no trailing separator");
        }
    }
    members
}

fn printable(name: &str) -> String {
    name.chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect()
}

/// The target's contract for one input; panics on a violation.
pub fn check(data: &[u8]) {
    let mut input = Input(data);
    let names: Vec<String> = (0..input.u8() % 6).map(|_| input.name()).collect();
    let mut policies = Vec::new();
    let mut statuses = Vec::new();
    for name in &names {
        let name = name.as_str();
        match input.u8() % 3 {
            0 => {
                policies.push(PolicyItem {
                    name,
                    quota: input.u64(),
                    window_seconds: input.u64(),
                });
                statuses.push(StatusItem {
                    name,
                    remaining: input.u64(),
                    reset_seconds: input.u64(),
                });
            }
            1 => {
                let params = BucketParams {
                    capacity: input.f64(),
                    refill_per_second: input.f64(),
                };
                let decision = bucket::take(params, input.f64(), input.f64(), input.f64());
                assert!(decision.retry_after_seconds() >= 1);
                policies.push(PolicyItem::for_bucket(name, params));
                statuses.push(StatusItem::for_bucket(name, &decision));
            }
            _ => {
                let admitted = input.u8() & 1 == 1;
                let decision = QuotaDecision::new(
                    admitted,
                    input.u64(),
                    input.u64(),
                    input.u64(),
                    input.u64(),
                );
                policies.push(PolicyItem::for_quota(name, &decision));
                statuses.push(StatusItem::for_quota(name, &decision, input.u64()));
            }
        }
    }
    assert!(retry_after_seconds(Duration::from_nanos(input.u64())) >= 1);

    let mut policy = String::new();
    write_policy_header(&policies, &mut policy);
    let mut status = String::new();
    write_status_header(&statuses, &mut status);
    for value in [&policy, &status] {
        assert!(HeaderValue::from_str(value).is_ok(), "{value:?}");
    }
    let expected_policy: Vec<Member> = policies
        .iter()
        .map(|item| {
            (
                printable(item.name),
                item.quota.min(SF_INTEGER_MAX),
                item.window_seconds.min(SF_INTEGER_MAX),
            )
        })
        .collect();
    assert_eq!(parse_list(&policy, ["q", "w"]), expected_policy);
    let expected_status: Vec<Member> = statuses
        .iter()
        .map(|item| {
            (
                printable(item.name),
                item.remaining.min(SF_INTEGER_MAX),
                item.reset_seconds.min(SF_INTEGER_MAX),
            )
        })
        .collect();
    assert_eq!(parse_list(&status, ["r", "t"]), expected_status);
}
