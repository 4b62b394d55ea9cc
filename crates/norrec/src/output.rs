//! Output files that appear whole or not at all: written to a temporary file beside the target
//! and renamed over it only when the command succeeded.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// An output file being written; dropped without [`AtomicFile::commit`] it leaves nothing behind.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    tmp: BufWriter<tempfile::NamedTempFile>,
}

impl AtomicFile {
    /// Starts writing `target` (a temp file in the same directory). The file gets the mode of
    /// the file it replaces, or 0644 when new (not the temp file's 0600).
    pub fn create(target: &Path) -> anyhow::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mode = std::fs::metadata(target)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| std::fs::Permissions::from_mode(0o644));
        let tmp = tempfile::Builder::new()
            .prefix(".norrec-")
            .permissions(mode)
            .tempfile_in(dir)
            .with_context(|| {
                format!(
                    "{}: cannot create a file in {}",
                    target.display(),
                    dir.display()
                )
            })?;
        Ok(Self {
            target: target.to_owned(),
            tmp: BufWriter::with_capacity(1 << 20, tmp),
        })
    }

    /// Flushes and renames the file into place.
    pub fn commit(self) -> anyhow::Result<()> {
        let target = self.target;
        let tmp = self
            .tmp
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("{}: write failed", target.display()))?;
        tmp.persist(&target)
            .with_context(|| format!("{}: cannot rename into place", target.display()))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}
