//! The relay alone in a child process (this test binary, re-run in "child" mode), so a test can
//! measure that process's memory and log output and hold hundreds of sockets against it
//! without sharing a file table, an allocator or a log with the test.
//!
//! The child runs `Relay::start_dedicated` (what the engine runs), logs at `info` (the app's
//! default) to stderr, prints `READY <addr>`, `PUBLISHING` whenever a publisher starts, and
//! stops when its stdin closes.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "STREAMPAI_RELAY_CHILD_KEY";

/// Call from a `#[test]` named `name`: in the child, serves until stdin closes; otherwise a no-op.
pub fn serve_if_child() {
    let Ok(key) = std::env::var(CHILD_ENV) else { return };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    // Bound like the engine binds the ingest (tokio: a listen backlog of 1024).
    let listener =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().into_std().unwrap()
        });
    let cancel = tokio_util::sync::CancellationToken::new();
    let cfg = streampai::relay::RelayConfig::new(streampai::secrets::Secret::new(key));
    let relay = streampai::relay::Relay::start_dedicated(cfg, listener, cancel.clone()).expect("relay");
    println!("READY {}", relay.local_addr());
    let mut ingest = relay.watch_ingest();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            loop {
                if ingest.wait_for(|s| *s != streampai::relay::IngestState::Idle).await.is_err() {
                    return;
                }
                println!("PUBLISHING");
                if ingest.wait_for(|s| *s == streampai::relay::IngestState::Idle).await.is_err() {
                    return;
                }
            }
        });
    });
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    cancel.cancel();
    std::thread::sleep(Duration::from_millis(200));
    std::process::exit(0);
}

/// A relay running in a child process.
pub struct RelayProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<u8>>>,
    publishing: Arc<Mutex<Vec<Instant>>>,
}

impl RelayProcess {
    /// Start `test_name` (a test that calls [`serve_if_child`]) of this binary as a relay with
    /// ingest key `key`.
    pub fn start(test_name: &str, key: &str) -> RelayProcess {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.env_remove("RUST_LOG");
        if std::env::var_os("TEST_LOG").is_some() {
            cmd.env("RUST_LOG", "streampai=debug"); // and the log is printed at the end
        }
        let mut child = cmd
            .args([test_name, "--exact", "--nocapture", "--test-threads", "1"])
            .env(CHILD_ENV, key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the relay child");
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let publishing = Arc::new(Mutex::new(Vec::new()));
        let seen = publishing.clone();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                // libtest prints "test NAME ... " without a newline before the test's output.
                if let Some(i) = line.find("READY ") {
                    let _ = tx.send(line[i + 6..].trim().parse::<SocketAddr>().unwrap());
                } else if line.ends_with("PUBLISHING") {
                    seen.lock().unwrap().push(Instant::now());
                }
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(20)).expect("the relay child is ready");
        let stdin = child.stdin.take();
        RelayProcess { child, stdin, addr, log, publishing }
    }

    /// Resident memory of the child, in MiB.
    pub fn rss_mib(&self) -> f64 {
        let statm = std::fs::read_to_string(format!("/proc/{}/statm", self.child.id())).unwrap_or_default();
        let pages: f64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0.0);
        pages * page_size() as f64 / 1048576.0
    }

    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }

    pub fn log_len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// When the child reported a publisher starting.
    pub fn publishing_since(&self, t: Instant) -> Option<Instant> {
        self.publishing.lock().unwrap().iter().copied().find(|p| *p >= t)
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        if std::env::var_os("TEST_LOG").is_some() {
            eprintln!("--- relay child log ---\n{}", self.log());
        }
        drop(self.stdin.take());
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples a child's RSS every 20 ms until dropped; the peak in MiB.
pub struct RssPeak {
    peak_kib: Arc<AtomicUsize>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl RssPeak {
    pub fn watch(relay: &RelayProcess) -> RssPeak {
        let pid = relay.child.id();
        let peak_kib = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p, s) = (peak_kib.clone(), stop.clone());
        std::thread::spawn(move || {
            let page_kib = page_size() / 1024;
            while !s.load(Ordering::Relaxed) {
                let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap_or_default();
                let pages: usize = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
                p.fetch_max(pages * page_kib, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        RssPeak { peak_kib, stop }
    }

    pub fn peak_mib(&self) -> f64 {
        self.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

impl Drop for RssPeak {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The memory page size (`/proc/<pid>/statm` counts pages; Linux only, like the tests using it).
fn page_size() -> usize {
    #[cfg(unix)]
    {
        // SAFETY: sysconf has no preconditions.
        unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
    }
    #[cfg(not(unix))]
    {
        4096
    }
}
