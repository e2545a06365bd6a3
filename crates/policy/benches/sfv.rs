//! The RFC 8941 dictionary parser behind `Signature-Input`, `Signature` and `Content-Digest`,
//! on the shapes an attacker can send within a 32 KiB header: a typical signature, thousands
//! of distinct keys, one key repeated, thousands of parameters, and long byte sequences.
//! Time per byte should not grow with the key count (it did with the old linear search).
//! Run: `cargo bench -p portcullis-policy --bench sfv`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use portcullis_policy::signature::sfv::parse_dictionary;

fn inputs() -> Vec<(&'static str, String)> {
    let typical = r#"sig1=("@method" "@authority" "@path" "content-digest");created=1618884473;keyid="hmac-partner";nonce="b3k2pp5k7z", sig2=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"#.to_string();
    let distinct = |count: usize| {
        (0..count)
            .map(|n| format!("k{n}=1"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let repeated = (0..4000)
        .map(|n| format!("k={n}"))
        .collect::<Vec<_>>()
        .join(",");
    let params: String = (0..4000).map(|n| format!(";p{n}")).collect();
    let bytes = format!("b=:{}:", "AAAA".repeat(8000));
    vec![
        ("typical", typical),
        ("distinct_1000", distinct(1000)),
        ("distinct_4000", distinct(4000)),
        ("repeated_4000", repeated),
        ("params_4000", format!("k=1{params}")),
        ("bytes_32k", bytes),
    ]
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("sfv_parse_dictionary");
    for (name, input) in inputs() {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &input, |b, input| {
            b.iter(|| parse_dictionary(black_box(input)))
        });
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
