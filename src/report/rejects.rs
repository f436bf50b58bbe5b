//! The rejects file: one JSON object per line with file, byte offset,
//! length, reason and an escaped excerpt of every record not in the frame.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ingest::{Reject, RejectSink};

/// Writes rejects as JSON Lines. With `lazy`, the file is only created when
/// the first reject arrives.
pub struct RejectsWriter {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    pub count: u64,
}

impl RejectsWriter {
    /// Creates (truncates) the file now.
    pub fn create(path: &Path) -> Result<Self> {
        let f = File::create(path).map_err(|e| Error::io(path, e))?;
        Ok(RejectsWriter {
            path: path.to_path_buf(),
            out: Some(BufWriter::new(f)),
            count: 0,
        })
    }

    /// Creates the file only if a reject arrives.
    pub fn lazy(path: &Path) -> Self {
        RejectsWriter {
            path: path.to_path_buf(),
            out: None,
            count: 0,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a file was written.
    pub fn written(&self) -> bool {
        self.out.is_some()
    }

    pub fn finish(&mut self) -> Result<()> {
        if let Some(o) = &mut self.out {
            o.flush().map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }
}

impl RejectSink for RejectsWriter {
    fn reject(&mut self, r: &Reject) -> Result<()> {
        if self.out.is_none() {
            let f = File::create(&self.path).map_err(|e| Error::io(&self.path, e))?;
            self.out = Some(BufWriter::new(f));
        }
        let o = self.out.as_mut().expect("opened above");
        serde_json::to_writer(&mut *o, r).map_err(|e| Error::output(&self.path, e))?;
        o.write_all(b"\n").map_err(|e| Error::io(&self.path, e))?;
        self.count += 1;
        Ok(())
    }
}
