//! Reading bytes: finding the inputs, mapping them read-only, decompressing
//! into memory under a size cap, hashing, and telling what kind of content
//! each holds. Nothing here knows about Activity Log fields.

pub mod split;
pub mod tabular;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// One input to read: a file, or one entry of a zip archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceDesc {
    pub path: PathBuf,
    /// The entry name inside the zip archive at `path`.
    pub entry: Option<String>,
    /// A zip archive itself: listed for the manifest, holds no records.
    pub container: bool,
}

impl SourceDesc {
    /// How the source is named in reports: the path, `!/entry` for zip entries.
    pub fn display(&self) -> String {
        let p = self.path.to_string_lossy();
        match &self.entry {
            Some(e) => format!("{p}!/{e}"),
            None => p.into_owned(),
        }
    }
}

/// The name of input `i` of a run's input list (empty if out of range).
pub fn source_name(sources: &[SourceDesc], i: u32) -> String {
    sources
        .get(i as usize)
        .map(|s| s.display())
        .unwrap_or_default()
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZIP_MAGIC: [u8; 4] = [b'P', b'K', 3, 4];
const ZIP_EMPTY_MAGIC: [u8; 4] = [b'P', b'K', 5, 6];

/// What identifies a file whatever path names it: its device and inode on
/// Unix (one `stat`, where resolving the path costs a call per component),
/// its canonical path elsewhere.
#[derive(Hash, PartialEq, Eq)]
enum FileKey {
    #[cfg(unix)]
    Inode(u64, u64),
    Path(PathBuf),
}

fn file_key(p: &Path) -> FileKey {
    #[cfg(unix)]
    if let Ok(m) = std::fs::metadata(p) {
        use std::os::unix::fs::MetadataExt;
        return FileKey::Inode(m.dev(), m.ino());
    }
    FileKey::Path(std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()))
}

fn read_magic(path: &Path) -> std::io::Result<[u8; 4]> {
    let mut f = File::open(path)?;
    let mut m = [0u8; 4];
    let mut n = 0;
    while n < 4 {
        let k = f.read(&mut m[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(m)
}

/// Walks the given files and folders (recursively, in sorted order) and
/// lists every source. Zip archives are opened to list their entries.
/// A path that does not exist is an error: a typo must not look like an
/// empty export.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<SourceDesc>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if meta.is_dir() {
            let walker = walkdir::WalkDir::new(p)
                .follow_links(true)
                .sort_by_file_name();
            for entry in walker {
                let entry = entry.map_err(|e| {
                    let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| p.clone());
                    Error::Walk {
                        path,
                        msg: e.to_string(),
                    }
                })?;
                if entry.file_type().is_file() {
                    files.push(entry.into_path());
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    // The same file named twice (a folder and a file in it) is read once.
    let keys: Vec<FileKey> = files.par_iter().map(|f| file_key(f)).collect();
    let mut seen = std::collections::HashSet::new();
    let files: Vec<PathBuf> = files
        .into_iter()
        .zip(keys)
        .filter_map(|(f, k)| seen.insert(k).then_some(f))
        .collect();
    let magics: Vec<std::io::Result<[u8; 4]>> = files.par_iter().map(|f| read_magic(f)).collect();

    let mut out = Vec::with_capacity(files.len());
    for (path, magic) in files.into_iter().zip(magics) {
        let magic = magic.map_err(|e| Error::io(&path, e))?;
        if magic == ZIP_MAGIC || magic == ZIP_EMPTY_MAGIC {
            out.push(SourceDesc {
                path: path.clone(),
                entry: None,
                container: true,
            });
            let f = File::open(&path).map_err(|e| Error::io(&path, e))?;
            // An unreadable archive is still listed (as the container); the
            // reason is reported when it is read.
            if let Ok(mut z) = zip::ZipArchive::new(f) {
                for i in 0..z.len() {
                    if let Ok(e) = z.by_index_raw(i)
                        && e.is_file()
                    {
                        out.push(SourceDesc {
                            path: path.clone(),
                            entry: Some(e.name().to_owned()),
                            container: false,
                        });
                    }
                }
            }
        } else {
            out.push(SourceDesc {
                path,
                entry: None,
                container: false,
            });
        }
    }
    Ok(out)
}

/// The bytes of an input: a read-only map of the file, or a buffer holding
/// decompressed (or transcoded) content.
pub enum Content {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Deref for Content {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Content::Mapped(m) => m,
            Content::Owned(v) => v,
        }
    }
}

/// A loaded input.
pub struct Loaded {
    pub content: Content,
    /// Size on disk (or of the zip entry, uncompressed).
    pub size: u64,
    /// SHA-256 of the bytes on disk (of the entry, for zip entries), when asked for.
    pub sha256: Option<String>,
    /// What was done to the bytes before reading: `gzip`, `utf-16le`, …
    pub transforms: Vec<&'static str>,
}

/// Why an input could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError(pub String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Reads at most `cap` bytes from `r`; more than that is an error.
fn read_capped(mut r: impl Read, cap: u64, what: &str) -> std::result::Result<Vec<u8>, LoadError> {
    let mut out = Vec::new();
    let n = (&mut r)
        .take(cap + 1)
        .read_to_end(&mut out)
        .map_err(|e| LoadError(format!("{what} failed: {e}")))?;
    if n as u64 > cap {
        return Err(LoadError(format!(
            "{what} output exceeds the cap of {cap} bytes (a decompression bomb, or a very large \
             export: raise the cap with --max-decompressed)"
        )));
    }
    Ok(out)
}

/// Decodes UTF-16 (with BOM) to UTF-8; Windows PowerShell 5.1 `Out-File`
/// writes UTF-16LE by default.
fn transcode_utf16(b: &[u8]) -> Option<(Vec<u8>, &'static str)> {
    let (le, name) = if b.starts_with(&[0xFF, 0xFE]) {
        (true, "utf-16le")
    } else if b.starts_with(&[0xFE, 0xFF]) {
        (false, "utf-16be")
    } else {
        return None;
    };
    let units = b[2..].chunks_exact(2).map(|c| {
        if le {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let s: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Some((s.into_bytes(), name))
}

/// Applies content transforms: gzip (possibly nested once in a zip), UTF-16.
fn unwrap_content(
    mut content: Content,
    cap: u64,
    transforms: &mut Vec<&'static str>,
) -> std::result::Result<Content, LoadError> {
    if content.starts_with(&GZIP_MAGIC) {
        let dec = flate2::read::MultiGzDecoder::new(&content[..]);
        let v = read_capped(dec, cap, "gzip decompression")?;
        transforms.push("gzip");
        content = Content::Owned(v);
    }
    if content.starts_with(&ZIP_MAGIC) {
        return Err(LoadError(
            "a zip archive inside an archive is not opened: extract it and pass the folder".into(),
        ));
    }
    if let Some((v, name)) = transcode_utf16(&content) {
        transforms.push(name);
        content = Content::Owned(v);
    }
    Ok(content)
}

/// Loads a source: maps or decompresses it, and (with `hash`) hashes what is on disk.
pub fn load(src: &SourceDesc, cap: u64, hash: bool) -> std::result::Result<Loaded, LoadError> {
    let io = |e: std::io::Error| LoadError(format!("cannot read: {e}"));
    let mut transforms = Vec::new();
    match &src.entry {
        None => {
            let f = File::open(&src.path).map_err(io)?;
            let size = f.metadata().map_err(io)?.len();
            let content = if size == 0 {
                Content::Owned(Vec::new())
            } else {
                // SAFETY: the map is read-only; inputs are evidence and are not
                // expected to change while the run reads them.
                Content::Mapped(
                    unsafe { memmap2::MmapOptions::new().populate().map(&f) }.map_err(io)?,
                )
            };
            let sha256 = hash.then(|| sha256_hex(&content));
            if src.container {
                return Ok(Loaded {
                    content: Content::Owned(Vec::new()),
                    size,
                    sha256,
                    transforms,
                });
            }
            let content = unwrap_content(content, cap, &mut transforms)?;
            Ok(Loaded {
                content,
                size,
                sha256,
                transforms,
            })
        }
        Some(name) => {
            let f = File::open(&src.path).map_err(io)?;
            let mut z = zip::ZipArchive::new(f)
                .map_err(|e| LoadError(format!("unreadable zip archive: {e}")))?;
            let entry = z
                .by_name(name)
                .map_err(|e| LoadError(format!("unreadable zip entry: {e}")))?;
            let size = entry.size();
            let bytes = read_capped(entry, cap, "zip decompression")?;
            transforms.push("zip");
            let sha256 = hash.then(|| sha256_hex(&bytes));
            let content = unwrap_content(Content::Owned(bytes), cap, &mut transforms)?;
            Ok(Loaded {
                content,
                size,
                sha256,
                transforms,
            })
        }
    }
}

/// What a loaded input holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Json,
    Csv,
    Parquet,
    Empty,
    /// Not something this tool reads, with the reason.
    Unknown(String),
}

/// Tells JSON, CSV and Parquet apart from everything else by looking at the
/// first bytes.
pub fn sniff(b: &[u8]) -> Kind {
    if b.starts_with(b"PAR1") {
        return Kind::Parquet;
    }
    let start = split::content_start(b);
    let body = &b[start..];
    let first = body
        .iter()
        .position(|c| !matches!(c, b' ' | b'\n' | b'\r' | b'\t'));
    let Some(first) = first else {
        return Kind::Empty;
    };
    let head = &body[..body.len().min(8192)];
    if head.contains(&0) {
        return Kind::Unknown("binary data (not JSON, CSV or Parquet)".into());
    }
    if matches!(body[first], b'{' | b'[') {
        // JSON; a bad byte inside a record rejects that record, not the file.
        return Kind::Json;
    }
    if let Err(e) = std::str::from_utf8(head) {
        // A multi-byte character cut at the 8 KiB boundary is fine.
        if e.error_len().is_some() {
            return Kind::Unknown(format!(
                "not UTF-8 text (invalid byte at offset {}): not JSON, CSV or Parquet",
                start + e.valid_up_to()
            ));
        }
    }
    match body[first] {
        b'{' | b'[' => Kind::Json,
        _ => {
            let line_end = memchr::memchr(b'\n', head).unwrap_or(head.len());
            if head[..line_end].contains(&b',') {
                Kind::Csv
            } else {
                Kind::Unknown("text that is neither JSON nor CSV".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b""), Kind::Empty);
        assert_eq!(sniff(b"\xEF\xBB\xBF \n"), Kind::Empty);
        assert_eq!(sniff(b"\xEF\xBB\xBF[{}]"), Kind::Json);
        assert_eq!(sniff(b"  {\"a\":1}"), Kind::Json);
        assert_eq!(sniff(b"PAR1xxxx"), Kind::Parquet);
        assert_eq!(
            sniff(b"TimeGenerated [UTC],OperationNameValue\n"),
            Kind::Csv
        );
        assert!(matches!(sniff(b"\x7fELF\x00\x01"), Kind::Unknown(_)));
        assert!(matches!(sniff(b"hello world\n"), Kind::Unknown(_)));
        assert_eq!(sniff(b"{\"a\":\"\xff\xfe\"}"), Kind::Json);
        assert!(matches!(sniff(b"a,b\xff\xfe\n"), Kind::Unknown(_)));
    }

    #[test]
    fn a_file_named_twice_is_listed_once() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("a.json"), "{}").unwrap();
        std::fs::write(sub.join("b.json"), "{}").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(sub.join("a.json"), dir.path().join("link.json")).unwrap();
        let named = [
            dir.path().to_path_buf(),
            sub.join("a.json"),
            sub.join("..").join("sub").join("b.json"),
        ];
        let found = discover(&named).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|d| d.path.file_name().unwrap().to_str().unwrap())
            .collect();
        #[cfg(unix)]
        assert_eq!(names, ["link.json", "b.json"]);
        #[cfg(not(unix))]
        assert_eq!(names, ["a.json", "b.json"]);
    }

    #[test]
    fn utf16() {
        let mut b = vec![0xFF, 0xFE];
        for u in "[{\"a\":\"é\"}]".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        let (v, name) = transcode_utf16(&b).unwrap();
        assert_eq!(name, "utf-16le");
        assert_eq!(String::from_utf8(v).unwrap(), "[{\"a\":\"é\"}]");
    }

    #[test]
    fn capped_read() {
        assert!(read_capped(&b"12345"[..], 5, "x").is_ok());
        let e = read_capped(&b"123456"[..], 5, "gzip decompression").unwrap_err();
        assert!(e.0.contains("cap of 5 bytes"), "{e}");
    }
}
