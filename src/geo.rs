//! GeoIP enrichment from user-supplied MaxMind DB files (`--geoip`):
//! GeoLite2 / GeoIP2 City or Country databases give an address's country,
//! city and location, ASN databases its autonomous system. Several files
//! are merged: for each field the first database (in the order given) that
//! knows it wins.
//!
//! The files are read into memory once; nothing is cached here (callers
//! look up each distinct address once).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::Reader;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What the GeoIP databases say of one address.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Geo {
    /// ISO 3166 alpha-2 (`country.iso_code`, else `registered_country.iso_code`).
    pub country: Option<String>,
    /// The country's English name.
    pub country_name: Option<String>,
    /// The city's English name.
    pub city: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// `location.accuracy_radius`: how far off the location may be.
    pub accuracy_km: Option<u32>,
    /// `autonomous_system_number`.
    pub asn: Option<u32>,
    /// `autonomous_system_organization`.
    pub as_org: Option<String>,
}

impl Geo {
    /// Nothing known.
    pub fn is_empty(&self) -> bool {
        *self == Geo::default()
    }

    /// `Amsterdam, NL (AS1136 KPN B.V.)`: for "why it fired" lines.
    pub fn describe(&self) -> String {
        let mut s = match (&self.city, &self.country) {
            (Some(c), Some(k)) => format!("{c}, {k}"),
            (None, Some(k)) => k.clone(),
            (Some(c), None) => c.clone(),
            (None, None) => "unknown place".into(),
        };
        if let Some(n) = self.asn {
            s.push_str(&format!(" (AS{n}"));
            if let Some(o) = &self.as_org {
                s.push(' ');
                s.push_str(o);
            }
            s.push(')');
        }
        s
    }

    /// Latitude and longitude, when both are known.
    pub fn coordinates(&self) -> Option<(f64, f64)> {
        Some((self.latitude?, self.longitude?))
    }

    /// Fills the fields `self` does not know from `other`.
    fn merge(&mut self, other: Geo) {
        fn fill<T>(a: &mut Option<T>, b: Option<T>) {
            if a.is_none() {
                *a = b;
            }
        }
        fill(&mut self.country, other.country);
        fill(&mut self.country_name, other.country_name);
        fill(&mut self.city, other.city);
        // Latitude and longitude (and their accuracy) go together.
        if self.latitude.is_none() && self.longitude.is_none() {
            self.latitude = other.latitude;
            self.longitude = other.longitude;
            self.accuracy_km = other.accuracy_km;
        }
        fill(&mut self.asn, other.asn);
        fill(&mut self.as_org, other.as_org);
    }
}

/// One `--geoip` file as read: for the manifest.
#[derive(Clone, Debug, Serialize)]
pub struct GeoFile {
    pub path: String,
    pub sha256: String,
    /// The metadata's `database_type`, e.g. `GeoLite2-City`.
    pub database_type: String,
    /// When the database was built (Unix seconds).
    pub build_epoch: u64,
    /// 4 or 6.
    pub ip_version: u16,
}

/// Every `--geoip` database of a run, ready for lookups.
pub struct GeoDb {
    readers: Vec<Reader<Vec<u8>>>,
    files: Vec<GeoFile>,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDb").field("files", &self.files).finish()
    }
}

/// What was expected of a `--geoip` file, for error messages.
const EXPECTED: &str = "expected a MaxMind DB file (.mmdb: GeoLite2/GeoIP2 City, Country or ASN)";

/// The parts of a City, Country or ASN record we read; anything else in a
/// record is skipped.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Record {
    country: Option<CountryRec>,
    registered_country: Option<CountryRec>,
    city: Option<CityRec>,
    location: Option<LocationRec>,
    #[serde(deserialize_with = "any_uint")]
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CountryRec {
    iso_code: Option<String>,
    names: Option<Names>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CityRec {
    names: Option<Names>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Names {
    en: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LocationRec {
    #[serde(deserialize_with = "any_number")]
    latitude: Option<f64>,
    #[serde(deserialize_with = "any_number")]
    longitude: Option<f64>,
    #[serde(deserialize_with = "any_uint")]
    accuracy_radius: Option<u32>,
}

/// The reader's decoder is strict about integer widths (GeoLite2 stores
/// `accuracy_radius` as uint16, `autonomous_system_number` as uint32);
/// these take a number of any width, and a value of another type as
/// unknown rather than failing the whole record.
struct Lenient<T>(std::marker::PhantomData<T>);

macro_rules! lenient_scalars {
    ($($visit:ident: $t:ty),*) => {$(
        fn $visit<E: serde::de::Error>(self, _: $t) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
    )*};
}

impl serde::de::Visitor<'_> for Lenient<u32> {
    type Value = Option<u32>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an unsigned integer")
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(u32::try_from(v).ok())
    }
    fn visit_u128<E: serde::de::Error>(self, v: u128) -> std::result::Result<Self::Value, E> {
        Ok(u32::try_from(v).ok())
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(u32::try_from(v).ok())
    }
    lenient_scalars!(visit_f64: f64, visit_str: &str, visit_bool: bool, visit_bytes: &[u8]);
}

impl serde::de::Visitor<'_> for Lenient<f64> {
    type Value = Option<f64>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number")
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
        Ok(v.is_finite().then_some(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    lenient_scalars!(visit_str: &str, visit_bool: bool, visit_bytes: &[u8]);
}

fn any_uint<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<u32>, D::Error> {
    d.deserialize_any(Lenient::<u32>(std::marker::PhantomData))
}

fn any_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<f64>, D::Error> {
    d.deserialize_any(Lenient::<f64>(std::marker::PhantomData))
}

/// Empty (or blank) text is not a value.
fn text(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn english(n: Option<Names>) -> Option<String> {
    text(n.and_then(|n| n.en))
}

impl Record {
    fn into_geo(self) -> Geo {
        // The country the address is located in, else the one its block is
        // registered to; its name comes with it.
        let (country, country_name) = [self.country, self.registered_country]
            .into_iter()
            .flatten()
            .map(|c| (text(c.iso_code), english(c.names)))
            .find(|(iso, _)| iso.is_some())
            .unwrap_or_default();
        let loc = self.location.unwrap_or_default();
        let (latitude, longitude) = match (loc.latitude, loc.longitude) {
            (Some(a), Some(b)) if a.is_finite() && b.is_finite() => (Some(a), Some(b)),
            _ => (None, None),
        };
        Geo {
            country,
            country_name,
            city: english(self.city.and_then(|c| c.names)),
            latitude,
            longitude,
            accuracy_km: latitude.and(loc.accuracy_radius),
            asn: self.autonomous_system_number,
            as_org: text(self.autonomous_system_organization),
        }
    }
}

/// Parses an address as the logs hold it: IPv4, IPv6, IPv4-mapped IPv6
/// (looked up as IPv4), with a port (`1.2.3.4:5678`, `[v6]:port`), in
/// brackets, or with a zone.
pub fn parse_log_ip(s: &str) -> Option<IpAddr> {
    let ip = crate::detect::ioc::parse_ip(crate::normalize::values::strip_port(s))?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

impl GeoDb {
    /// Opens every file (a City or Country DB, an ASN DB, or a combined
    /// one); errors name the file and say what was expected.
    pub fn open(paths: &[PathBuf]) -> Result<GeoDb> {
        let mut db = GeoDb {
            readers: Vec::with_capacity(paths.len()),
            files: Vec::with_capacity(paths.len()),
        };
        for p in paths {
            let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
            db.add(p, bytes)?;
        }
        Ok(db)
    }

    /// Adds one database from its bytes; `path` is for the manifest and
    /// error messages.
    pub fn add(&mut self, path: &Path, bytes: Vec<u8>) -> Result<()> {
        let sha256 = crate::input::sha256_hex(&bytes);
        let bad = |e: &dyn std::fmt::Display| Error::output(path, format!("{EXPECTED}: {e}"));
        let reader = Reader::from_source(bytes).map_err(|e| bad(&e))?;
        // Opening reads only the metadata; one lookup per family walks the
        // tree and decodes a record, so a damaged file fails now rather
        // than as silently missing answers later.
        let probes: &[IpAddr] = if reader.metadata().ip_version == 6 {
            &[
                IpAddr::V4([1, 1, 1, 1].into()),
                IpAddr::V6([0x2001, 0x4860, 0, 0, 0, 0, 0, 0x8888].into()),
            ]
        } else {
            &[IpAddr::V4([1, 1, 1, 1].into())]
        };
        for &ip in probes {
            reader
                .lookup(ip)
                .and_then(|r| r.decode::<Record>())
                .map_err(|e| bad(&e))?;
        }
        let m = reader.metadata();
        self.files.push(GeoFile {
            path: path.display().to_string(),
            sha256,
            database_type: m.database_type.clone(),
            build_epoch: m.build_epoch,
            ip_version: m.ip_version,
        });
        self.readers.push(reader);
        Ok(())
    }

    /// Merges what every database knows of `ip` (see [`parse_log_ip`] for
    /// the forms read). `None` when it is not an address or nothing is
    /// known of it.
    pub fn lookup(&self, ip: &str) -> Option<Geo> {
        let addr = parse_log_ip(ip)?;
        let mut geo = Geo::default();
        for r in &self.readers {
            // An IPv6 address in an IPv4-only database, or a record that
            // cannot be decoded, is simply not known there.
            if let Ok(Some(rec)) = r.lookup(addr).and_then(|l| l.decode::<Record>()) {
                geo.merge(rec.into_geo());
            }
        }
        (!geo.is_empty()).then_some(geo)
    }

    /// The files, in the order given.
    pub fn files(&self) -> &[GeoFile] {
        &self.files
    }
}

/// Mean Earth radius (IUGG), km.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in km between two (latitude, longitude) points in
/// degrees (haversine).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
#[path = "../tests/common/mmdb.rs"]
mod mmdb;

#[cfg(test)]
mod tests {
    use super::mmdb::{MmdbWriter, asn, city};
    use super::*;

    fn city_db() -> Vec<u8> {
        let mut w = MmdbWriter::new("GeoLite2-City");
        w.insert(
            "203.0.113.0/24",
            city("NL", "Netherlands", "Amsterdam", 52.3676, 4.9041, 20),
        );
        w.insert(
            "198.51.100.0/25",
            city("US", "United States", "New York", 40.7128, -74.0060, 50),
        );
        w.insert(
            "2001:db8:1::/48",
            city("DE", "Germany", "Berlin", 52.52, 13.405, 100),
        );
        w.to_bytes()
    }

    fn asn_db() -> Vec<u8> {
        let mut w = MmdbWriter::new("GeoLite2-ASN");
        w.insert("203.0.113.0/24", asn(1136, "KPN B.V."));
        w.insert("192.0.2.0/24", asn(64500, "Example AS"));
        w.insert("2001:db8::/32", asn(64501, "Example v6"));
        w.to_bytes()
    }

    fn db(files: &[(&str, Vec<u8>)]) -> GeoDb {
        let mut db = GeoDb {
            readers: Vec::new(),
            files: Vec::new(),
        };
        for (name, bytes) in files {
            db.add(Path::new(name), bytes.clone()).unwrap();
        }
        db
    }

    #[test]
    fn city_lookups_read_every_address_form() {
        let db = db(&[("city.mmdb", city_db())]);
        let ams = db.lookup("203.0.113.7").unwrap();
        assert_eq!(ams.country.as_deref(), Some("NL"));
        assert_eq!(ams.country_name.as_deref(), Some("Netherlands"));
        assert_eq!(ams.city.as_deref(), Some("Amsterdam"));
        assert_eq!(ams.coordinates(), Some((52.3676, 4.9041)));
        assert_eq!(ams.accuracy_km, Some(20));
        assert_eq!(ams.asn, None);
        // With a port, IPv4-mapped, mapped in brackets with a port.
        assert_eq!(db.lookup("203.0.113.7:5678"), Some(ams.clone()));
        assert_eq!(db.lookup("::ffff:203.0.113.7"), Some(ams.clone()));
        assert_eq!(db.lookup("[::ffff:203.0.113.9]:443"), Some(ams.clone()));
        // The network's edge.
        assert_eq!(
            db.lookup("198.51.100.127").unwrap().city.as_deref(),
            Some("New York")
        );
        assert_eq!(db.lookup("198.51.100.128"), None);
        // IPv6, bare and with a port.
        let ber = db.lookup("2001:db8:1::42").unwrap();
        assert_eq!(ber.country.as_deref(), Some("DE"));
        assert_eq!(db.lookup("[2001:DB8:1::42]:8080"), Some(ber));
        assert_eq!(db.lookup("2001:db8:2::1"), None);
        // Not an address; unknown.
        assert_eq!(db.lookup("not-an-ip"), None);
        assert_eq!(db.lookup(""), None);
        assert_eq!(db.lookup("10.0.0.1"), None);
        let f = &db.files()[0];
        assert_eq!(f.database_type, "GeoLite2-City");
        assert_eq!(f.ip_version, 6);
        assert_eq!(f.path, "city.mmdb");
        assert_eq!(f.sha256, crate::input::sha256_hex(&city_db()));
    }

    #[test]
    fn city_and_asn_databases_merge() {
        let db = db(&[("city.mmdb", city_db()), ("asn.mmdb", asn_db())]);
        assert_eq!(
            db.lookup("203.0.113.7"),
            Some(Geo {
                country: Some("NL".into()),
                country_name: Some("Netherlands".into()),
                city: Some("Amsterdam".into()),
                latitude: Some(52.3676),
                longitude: Some(4.9041),
                accuracy_km: Some(20),
                asn: Some(1136),
                as_org: Some("KPN B.V.".into()),
            })
        );
        // Known to one database only.
        let only_asn = db.lookup("192.0.2.1").unwrap();
        assert_eq!((only_asn.country, only_asn.asn), (None, Some(64500)));
        let v6 = db.lookup("2001:db8:1::1").unwrap();
        assert_eq!((v6.country.as_deref(), v6.asn), (Some("DE"), Some(64501)));
        assert_eq!(db.files().len(), 2);
        assert_eq!(db.files()[1].database_type, "GeoLite2-ASN");
    }

    #[test]
    fn registered_country_and_empty_strings() {
        use super::mmdb::Value;
        let mut w = MmdbWriter::new("GeoIP2-Country");
        w.insert(
            "192.0.2.0/24",
            Value::Map(vec![
                (
                    "registered_country".into(),
                    Value::Map(vec![
                        ("iso_code".into(), Value::Str("SE".into())),
                        (
                            "names".into(),
                            Value::Map(vec![("en".into(), Value::Str("Sweden".into()))]),
                        ),
                    ]),
                ),
                (
                    "country".into(),
                    Value::Map(vec![("iso_code".into(), Value::Str(String::new()))]),
                ),
                (
                    "autonomous_system_organization".into(),
                    Value::Str(" ".into()),
                ),
                // Numbers of another width are read; a value of another
                // type is unknown, not a failed record.
                ("autonomous_system_number".into(), Value::U16(7)),
                (
                    "location".into(),
                    Value::Map(vec![
                        ("latitude".into(), Value::Str("north".into())),
                        ("longitude".into(), Value::F64(1.0)),
                        ("accuracy_radius".into(), Value::U64(5)),
                    ]),
                ),
            ]),
        );
        w.insert(
            "198.51.100.0/24",
            Value::Map(vec![(
                "city".into(),
                Value::Map(vec![(
                    "names".into(),
                    Value::Map(vec![("en".into(), Value::Str(String::new()))]),
                )]),
            )]),
        );
        let db = db(&[("c.mmdb", w.to_bytes())]);
        let g = db.lookup("192.0.2.9").unwrap();
        assert_eq!(g.country.as_deref(), Some("SE"));
        assert_eq!(g.country_name.as_deref(), Some("Sweden"));
        assert_eq!(g.as_org, None);
        assert_eq!(g.asn, Some(7));
        assert_eq!((g.coordinates(), g.accuracy_km), (None, None));
        // A record holding only empty strings knows nothing.
        assert_eq!(db.lookup("198.51.100.1"), None);
    }

    #[test]
    fn bad_files_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let good = city_db();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("truncated.mmdb", good[..good.len() / 2].to_vec()),
            ("text.mmdb", b"1.2.3.4,NL\n5.6.7.8,DE\n".to_vec()),
            ("empty.mmdb", Vec::new()),
            // Valid metadata, but the search tree points past the data.
            ("corrupt.mmdb", {
                let mut b = good.clone();
                for x in &mut b[..60] {
                    *x = 0xff;
                }
                b
            }),
        ];
        for (name, bytes) in cases {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let e = GeoDb::open(std::slice::from_ref(&p))
                .unwrap_err()
                .to_string();
            assert!(e.contains(name), "{name}: {e}");
            assert!(e.contains("expected a MaxMind DB file"), "{name}: {e}");
        }
        let missing = dir.path().join("missing.mmdb");
        let e = GeoDb::open(&[missing]).unwrap_err().to_string();
        assert!(e.contains("missing.mmdb"), "{e}");
    }

    #[test]
    fn open_reads_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.mmdb"), dir.path().join("b.mmdb"));
        std::fs::write(&a, asn_db()).unwrap();
        std::fs::write(&b, city_db()).unwrap();
        let db = GeoDb::open(&[a.clone(), b]).unwrap();
        let types: Vec<&str> = db
            .files()
            .iter()
            .map(|f| f.database_type.as_str())
            .collect();
        assert_eq!(types, ["GeoLite2-ASN", "GeoLite2-City"]);
        assert_eq!(db.files()[0].path, a.display().to_string());
        assert_eq!(db.lookup("203.0.113.1").unwrap().asn, Some(1136));
        assert!(format!("{db:?}").contains("GeoLite2-ASN"));
    }

    #[test]
    fn distances_are_great_circles() {
        let ams = (52.3676, 4.9041);
        let nyc = (40.7128, -74.0060);
        let d = distance_km(ams, nyc);
        assert!((d - 5860.0).abs() < 58.6, "{d}");
        assert_eq!(distance_km(ams, ams), 0.0);
        assert!((distance_km(ams, nyc) - distance_km(nyc, ams)).abs() < 1e-9);
        // Antipodes: half the circumference.
        let half = std::f64::consts::PI * EARTH_RADIUS_KM;
        assert!((distance_km((0.0, 0.0), (0.0, 180.0)) - half).abs() < 1e-6);
        assert!((distance_km((90.0, 0.0), (-90.0, 0.0)) - half).abs() < 1e-6);
    }
}
