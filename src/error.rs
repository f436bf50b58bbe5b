//! The library's error type. Messages name the file and say what was
//! expected; per-record problems are not errors (they become rejects).

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {msg}", path.display())]
    Walk { path: PathBuf, msg: String },
    #[error("{}: {msg}", path.display())]
    Output { path: PathBuf, msg: String },
    #[error("invalid {flag}: {msg}")]
    Usage { flag: String, msg: String },
    #[error("polars: {0}")]
    Polars(String),
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub fn output(path: &Path, msg: impl std::fmt::Display) -> Self {
        Error::Output {
            path: path.to_path_buf(),
            msg: msg.to_string(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
