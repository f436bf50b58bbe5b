//! Writes a small GeoLite2-City-shaped database placing the address blocks
//! of `scripts/gen.py bulk` (20/8, 40/8, 52/8, 104/8, 198/8) on five
//! continents, so that `scripts/bench.py` can measure `scan --geoip` (the
//! GeoIP and impossible-travel passes) on generated data. The writer is the
//! tests' own (`tests/common/mmdb.rs`).
//!
//! cargo run --release --example mkmmdb -- OUT.mmdb

#[path = "../tests/common/mmdb.rs"]
mod mmdb;

fn main() {
    let out = std::env::args().nth(1).expect("usage: mkmmdb OUT.mmdb");
    let mut w = mmdb::MmdbWriter::new("GeoLite2-City");
    for (net, (iso, country, city, lat, lon)) in [
        (
            "20.0.0.0/8",
            ("US", "United States", "Boydton", 36.67, -78.39),
        ),
        (
            "40.0.0.0/8",
            ("NL", "Netherlands", "Amsterdam", 52.37, 4.90),
        ),
        ("52.0.0.0/8", ("IE", "Ireland", "Dublin", 53.35, -6.26)),
        (
            "104.0.0.0/8",
            ("SG", "Singapore", "Singapore", 1.35, 103.82),
        ),
        ("198.0.0.0/8", ("AU", "Australia", "Sydney", -33.87, 151.21)),
    ] {
        w.insert(net, mmdb::city(iso, country, city, lat, lon, 50));
    }
    std::fs::write(&out, w.to_bytes()).expect("write the database");
}
