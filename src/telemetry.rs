//! One tracing setup for binaries (`RUST_LOG` overrides the default filter; with the `cli`
//! feature), the log-safe wrapper for user-supplied fields, the open-files limit, and
//! [`LogFiles`]: log files capped by size as well as by days, so no flood of log lines can fill
//! a disk (the desktop app writes through it).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};

/// Every user-supplied field that reaches a log line goes through this (control characters
/// escaped; see `streampai_sync::log_safe`).
pub use streampai_sync::log_safe::{esc, escaped, Esc};

/// Log to stderr; `default` is used when `RUST_LOG` is unset (e.g. "info").
#[cfg(feature = "cli")]
pub fn init(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Raise the process's open-files limit to what the OS allows (each connection is a file
/// descriptor); a no-op where there is no such limit. Called at start by every front end.
pub fn raise_open_file_limit() {
    streampai_sync::guard::raise_nofile_limit();
}

/// Limits of [`LogFiles`].
#[derive(Clone, Debug)]
pub struct LogLimits {
    /// A file reaching this size is closed and a new one started (same day: `.1`, `.2`, ...).
    pub max_file_bytes: u64,
    /// Files kept in all; the oldest are deleted first. Total ≤ `max_files × max_file_bytes`.
    pub max_files: usize,
    /// Files from more days ago than this are deleted.
    pub max_days: i64,
}

impl Default for LogLimits {
    /// 8 MiB per file, 10 files (80 MiB at most), 7 days.
    fn default() -> Self {
        LogLimits { max_file_bytes: 8 * 1024 * 1024, max_files: 10, max_days: 7 }
    }
}

/// A `Write` to `<dir>/<prefix>.<yyyy-mm-dd>[.<n>].log`: a new file each day (UTC) and whenever
/// the current one would pass `max_file_bytes`; old files pruned by count and age. Each `write`
/// is expected to be whole log lines (as `tracing_appender::non_blocking` delivers them).
pub struct LogFiles {
    dir: PathBuf,
    prefix: String,
    limits: LogLimits,
    file: Option<File>,
    day: NaiveDate,
    part: u32,
    size: u64,
}

impl LogFiles {
    pub fn new(dir: &Path, prefix: &str, limits: LogLimits) -> io::Result<LogFiles> {
        fs::create_dir_all(dir)?;
        let mut files = LogFiles {
            dir: dir.to_path_buf(),
            prefix: prefix.to_string(),
            limits,
            file: None,
            day: Utc::now().date_naive(),
            part: 0,
            size: 0,
        };
        // Continue today's newest part if there is one.
        files.part =
            files.ours().iter().filter(|(d, _, _)| *d == files.day).map(|(_, p, _)| *p).max().unwrap_or(0);
        files.open()?;
        files.prune();
        Ok(files)
    }

    fn path(&self, part: u32) -> PathBuf {
        let day = self.day.format("%Y-%m-%d");
        match part {
            0 => self.dir.join(format!("{}.{day}.log", self.prefix)),
            n => self.dir.join(format!("{}.{day}.{n}.log", self.prefix)),
        }
    }

    fn open(&mut self) -> io::Result<()> {
        let file = OpenOptions::new().create(true).append(true).open(self.path(self.part))?;
        self.size = file.metadata().map(|m| m.len()).unwrap_or(0);
        self.file = Some(file);
        Ok(())
    }

    /// Our files, oldest first (by day, then part).
    fn ours(&self) -> Vec<(NaiveDate, u32, PathBuf)> {
        let Ok(entries) = fs::read_dir(&self.dir) else { return Vec::new() };
        let head = format!("{}.", self.prefix);
        let mut found: Vec<_> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let rest = name.strip_prefix(&head)?.strip_suffix(".log")?;
                let (day, part) = match rest.split_once('.') {
                    Some((d, p)) => (d, p.parse().ok()?),
                    None => (rest, 0),
                };
                let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
                Some((day, part, e.path()))
            })
            .collect();
        found.sort();
        found
    }

    fn prune(&self) {
        let files = self.ours();
        let oldest_day = self.day - chrono::Duration::days(self.limits.max_days.max(1) - 1);
        let extra = files.len().saturating_sub(self.limits.max_files.max(1));
        for (i, (day, part, path)) in files.iter().enumerate() {
            let current = *day == self.day && *part == self.part;
            if !current && (i < extra || *day < oldest_day) {
                let _ = fs::remove_file(path);
            }
        }
    }

    fn rotate(&mut self, today: NaiveDate) -> io::Result<()> {
        if today != self.day {
            self.day = today;
            self.part = 0;
        } else {
            self.part += 1;
        }
        self.file = None;
        self.open()?;
        self.prune();
        Ok(())
    }
}

impl Write for LogFiles {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let today = Utc::now().date_naive();
        let full = self.size > 0 && self.size + buf.len() as u64 > self.limits.max_file_bytes;
        if today != self.day || full || self.file.is_none() {
            self.rotate(today)?;
        }
        // A single record larger than a whole file is cut, never written past the cap.
        let take = buf.len().min(self.limits.max_file_bytes.max(1) as usize);
        let file = self.file.as_mut().ok_or_else(|| io::Error::other("no log file"))?;
        file.write_all(&buf[..take])?;
        self.size += take as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(dir: &Path) -> (usize, u64) {
        let files: Vec<_> = fs::read_dir(dir).unwrap().flatten().collect();
        (files.len(), files.iter().map(|f| f.metadata().unwrap().len()).sum())
    }

    #[test]
    fn log_files_are_capped_by_size_and_count() {
        let dir = tempfile::tempdir().unwrap();
        let limits = LogLimits { max_file_bytes: 10_000, max_files: 3, max_days: 7 };
        let mut w = LogFiles::new(dir.path(), "app", limits).unwrap();
        let line = format!("{}\n", "x".repeat(99));
        for _ in 0..10_000 {
            w.write_all(line.as_bytes()).unwrap(); // 1 MB in all
        }
        w.flush().unwrap();
        let (count, bytes) = total(dir.path());
        assert!(count <= 3, "{count} files");
        assert!(bytes <= 30_000, "{bytes} bytes kept");
        // The newest lines are the ones kept, and a restart continues the newest part.
        let before = w.part;
        drop(w);
        let w =
            LogFiles::new(dir.path(), "app", LogLimits { max_file_bytes: 10_000, max_files: 3, max_days: 7 })
                .unwrap();
        assert_eq!(w.part, before);
    }

    #[test]
    fn old_days_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let old = (Utc::now() - chrono::Duration::days(30)).date_naive().format("%Y-%m-%d");
        fs::write(dir.path().join(format!("app.{old}.log")), "old\n").unwrap();
        fs::write(dir.path().join(format!("app.{old}.2.log")), "old\n").unwrap();
        fs::write(dir.path().join("other.txt"), "not ours\n").unwrap();
        let _w = LogFiles::new(dir.path(), "app", LogLimits::default()).unwrap();
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        names.sort();
        let today = Utc::now().date_naive().format("%Y-%m-%d");
        assert_eq!(names, [format!("app.{today}.log"), "other.txt".to_string()]);
    }
}
