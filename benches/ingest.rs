//! Criterion benches for the two hot paths of ingest: the record splitter
//! and the per-record normaliser (parse + map + push into the frame).

use std::hint::black_box;

use armhunt::frame::{Dialect, FrameBuilder, Framing, SourceRef};
use armhunt::input::split::split_json;
use armhunt::normalize::tape::TVal;
use armhunt::normalize::{MapOptions, Scratch, SubParser, map_record};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A realistic resource-log record (~3 KB) with the given index mixed in.
fn record(i: usize) -> String {
    let claims: Vec<String> = (0..30)
        .map(|k| format!("\"claim{k}\":\"value-{i}-{k}-abcdefghijklmnopqrstuvwxyz\""))
        .collect();
    format!(
        concat!(
            "{{\"time\":\"2024-05-01T10:{:02}:{:02}.1234567Z\",",
            "\"resourceId\":\"/SUBSCRIPTIONS/3F2A1B4C-5D6E-4F70-8A9B-0C1D2E3F4A5B/RESOURCEGROUPS/RG-WEB/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-{}\",",
            "\"operationName\":\"MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE\",\"category\":\"Administrative\",\"resultType\":\"Success\",",
            "\"resultSignature\":\"Succeeded.OK\",\"durationMs\":\"12\",\"callerIpAddress\":\"203.0.113.{}\",\"correlationId\":\"c0c54eb6-3a17-42e2-b6f6-{:012}\",",
            "\"identity\":{{\"authorization\":{{\"scope\":\"/subscriptions/x\",\"action\":\"Microsoft.Compute/virtualMachines/write\",",
            "\"evidence\":{{\"role\":\"Owner\",\"principalId\":\"55555555555555555555555555555555\",\"principalType\":\"User\"}}}},",
            "\"claims\":{{\"appid\":\"c44b4083-3bb0-49c1-b47d-974e53cbdf3c\",\"ipaddr\":\"203.0.113.9\",\"idtyp\":\"user\",",
            "\"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn\":\"user{}@contoso.com\",{}}}}},",
            "\"level\":\"Information\",\"location\":\"global\",\"properties\":{{\"statusCode\":\"OK\",\"eventCategory\":\"Administrative\",",
            "\"requestbody\":\"{{\\\"location\\\":\\\"westeurope\\\",\\\"properties\\\":{{\\\"note\\\":\\\"{}\\\"}}}}\",",
            "\"hierarchy\":\"72f988bf-86f1-41af-91ab-2d7cd011db47/3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b\"}},\"tenantId\":\"72f988bf-86f1-41af-91ab-2d7cd011db47\"}}"
        ),
        i % 60,
        i % 60,
        i,
        i % 250,
        i,
        i % 40,
        claims.join(","),
        "x".repeat(400)
    )
}

fn jsonl(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| record(i) + "\n")
        .collect::<String>()
        .into_bytes()
}

fn bench_split(c: &mut Criterion) {
    let lines = jsonl(2000);
    let recs: Vec<serde_json::Value> = (0..2000)
        .map(|i| serde_json::from_str(&record(i)).unwrap())
        .collect();
    let pretty = serde_json::to_vec_pretty(&recs).unwrap();
    let mut g = c.benchmark_group("split");
    g.throughput(Throughput::Bytes(lines.len() as u64));
    g.bench_function("jsonl", |b| {
        b.iter(|| black_box(split_json(&lines)).records.len())
    });
    g.throughput(Throughput::Bytes(pretty.len() as u64));
    g.bench_function("pretty_array", |b| {
        b.iter(|| black_box(split_json(&pretty)).records.len())
    });
    g.finish();
}

fn bench_normalize(c: &mut Criterion) {
    let recs: Vec<String> = (0..1000).map(record).collect();
    let total: usize = recs.iter().map(String::len).sum();
    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("resource_log_record", |b| {
        let mut buf = Vec::new();
        let mut buffers = simd_json::Buffers::new(16 * 1024);
        let mut sub = SubParser::default();
        let mut scratch = Scratch::default();
        b.iter(|| {
            let mut fb = FrameBuilder::new(recs.len());
            for r in &recs {
                buf.clear();
                buf.extend_from_slice(r.as_bytes());
                let tape = simd_json::to_tape_with_buffers(&mut buf, &mut buffers).unwrap();
                let row = map_record(
                    TVal::root(&tape.0),
                    MapOptions::default(),
                    &mut sub,
                    &mut scratch,
                )
                .unwrap();
                fb.push(
                    &row,
                    Some("id"),
                    Dialect::of(row.schema, Framing::JsonLines),
                    SourceRef::default(),
                );
            }
            black_box(fb.finish().height())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_split, bench_normalize);
criterion_main!(benches);
