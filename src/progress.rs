//! Progress reporting: a trait the library calls, an indicatif bar on
//! stderr for people, and a silent one for `--quiet` and tests.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Receives progress in bytes.
pub trait Progress: Sync {
    fn set_total(&self, _bytes: u64) {}
    fn inc(&self, _bytes: u64) {}
    fn set_position(&self, _bytes: u64) {}
    fn finish(&self) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}

/// A byte progress bar on stderr (bytes done / total, rate, ETA). It draws
/// only when stderr is a terminal.
pub struct Bar(ProgressBar);

impl Bar {
    pub fn new(label: &str) -> Self {
        let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        pb.set_prefix(label.to_owned());
        Bar(pb)
    }
}

impl Progress for Bar {
    fn set_total(&self, bytes: u64) {
        self.0.set_length(bytes);
    }
    fn inc(&self, bytes: u64) {
        self.0.inc(bytes);
    }
    fn set_position(&self, bytes: u64) {
        self.0.set_position(bytes);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
