//! Parse and serialize the Chromium 156 audio+video+data offer (and the data-only offer).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use tern_sdp::{ParseOptions, SessionDescription};

const AV: &str = include_str!("../tests/vectors/chromium-156-offer-av-data.sdp");
const DATA: &str = include_str!("../tests/vectors/chromium-156-offer-data.sdp");

fn bench(c: &mut Criterion) {
    for (name, text) in [("chromium-av-data", AV), ("chromium-data", DATA)] {
        let parsed = SessionDescription::parse(text).unwrap();
        c.bench_function(&format!("parse/{name}"), |b| {
            b.iter(|| SessionDescription::parse(black_box(text)).unwrap())
        });
        // parse_with also runs the typed-attribute checks that produce warnings.
        let opts = ParseOptions::default();
        c.bench_function(&format!("parse_with_warnings/{name}"), |b| {
            b.iter(|| SessionDescription::parse_with(black_box(text), &opts).unwrap())
        });
        c.bench_function(&format!("serialize/{name}"), |b| {
            b.iter(|| black_box(&parsed).to_string())
        });
        c.bench_function(&format!("serialize_sized/{name}"), |b| {
            b.iter(|| black_box(&parsed).to_sdp_string())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
