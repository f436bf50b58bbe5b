//! The bare simd-json baseline for `scripts/bench.sh`: memory-map every
//! file under the given paths, split JSON Lines on newlines, copy each
//! record into a buffer and parse it to a simd-json tape. Nothing else.
//! Runs over files in parallel with rayon (`RAYON_NUM_THREADS` sets the
//! thread count), like armhunt does.
//!
//! cargo run --release --example parse_only -- [--borrowed] DIR...
//!
//! By default each record is parsed to simd-json's tape (what armhunt
//! does, the fastest form); `--borrowed` parses to `BorrowedValue`
//! (`simd_json::to_borrowed_value`), the form most programs use.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

fn main() {
    let mut files: Vec<PathBuf> = Vec::new();
    let borrowed = std::env::args().any(|a| a == "--borrowed");
    for a in std::env::args().skip(1).filter(|a| a != "--borrowed") {
        for e in walkdir::WalkDir::new(a).sort_by_file_name() {
            let e = e.expect("walk");
            if e.file_type().is_file() {
                files.push(e.into_path());
            }
        }
    }
    let records = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let errors = AtomicU64::new(0);
    let start = std::time::Instant::now();
    files.par_iter().for_each(|p| {
        let f = std::fs::File::open(p).expect("open");
        // SAFETY: read-only map of a file nobody writes during the run.
        let m = unsafe { memmap2::Mmap::map(&f) }.expect("map");
        let mut buf = Vec::new();
        let mut buffers = simd_json::Buffers::new(16 * 1024);
        let (mut n, mut bad) = (0u64, 0u64);
        let first = m.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(0);
        let is_lines = m.get(first) == Some(&b'{') && {
            let nl = m[first..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(m.len(), |k| first + k);
            m[first..nl]
                .iter()
                .rposition(|c| !c.is_ascii_whitespace())
                .is_some_and(|k| m[first + k] == b'}')
        };
        if !is_lines {
            // A pretty-printed array: one document.
            buf.extend_from_slice(&m);
            match simd_json::to_tape_with_buffers(&mut buf, &mut buffers) {
                Ok(t) => {
                    std::hint::black_box(t.0.len());
                    n += 1;
                }
                Err(_) => bad += 1,
            }
            records.fetch_add(n, Ordering::Relaxed);
            errors.fetch_add(bad, Ordering::Relaxed);
            bytes.fetch_add(m.len() as u64, Ordering::Relaxed);
            return;
        }
        for line in m.split(|&b| b == b'\n') {
            if line.is_empty() {
                continue;
            }
            buf.clear();
            buf.extend_from_slice(line);
            let ok = if borrowed {
                simd_json::to_borrowed_value_with_buffers(&mut buf, &mut buffers)
                    .map(|v| drop(std::hint::black_box(v)))
                    .is_ok()
            } else {
                simd_json::to_tape_with_buffers(&mut buf, &mut buffers)
                    .map(|t| std::hint::black_box(t.0.len()))
                    .is_ok()
            };
            if ok {
                n += 1;
            } else {
                bad += 1;
            }
        }
        records.fetch_add(n, Ordering::Relaxed);
        errors.fetch_add(bad, Ordering::Relaxed);
        bytes.fetch_add(m.len() as u64, Ordering::Relaxed);
    });
    let secs = start.elapsed().as_secs_f64();
    let b = bytes.load(Ordering::Relaxed);
    println!(
        "parse_only ({}): {} records or documents ({} errors), {} bytes in {:.3} s = {:.1} MB/s",
        if borrowed { "borrowed value" } else { "tape" },
        records.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        b,
        secs,
        b as f64 / secs / 1e6
    );
}
