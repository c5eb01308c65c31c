//! Real peers for the relay tests, loopback only: nginx-rtmp instances standing in for
//! platforms (recording what they receive), ffmpeg as the publisher, ffprobe to check the
//! recordings, and a captured log to prove keys never reach it.
#![allow(dead_code)]

use std::io::Write;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub mod child;
pub mod platforms;
pub mod proxy;

const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
const STREAM_MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";
/// Seconds of test media.
pub const MEDIA_SECS: u32 = 8;

fn have(cmd: &str) -> bool {
    Command::new(cmd).arg("-version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// Whether ffmpeg, ffprobe, nginx and its RTMP and stream modules are installed
/// (`scripts/relay-deps.sh` installs them).
pub fn tools_available() -> bool {
    have("ffmpeg")
        && have("ffprobe")
        && have("nginx")
        && Path::new(RTMP_MODULE).exists()
        && Path::new(STREAM_MODULE).exists()
}

/// Skip (with a message) only when the real peers are not installed.
#[macro_export]
macro_rules! require_tools {
    () => {
        if !relay_support::tools_available() {
            eprintln!("SKIPPED: ffmpeg/ffprobe/nginx with libnginx-mod-rtmp and -stream are not installed (run scripts/relay-deps.sh)");
            return;
        }
        relay_support::init_log();
    };
}

// ---------- captured log ----------

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = std::io::stderr().write_all(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static LOG: OnceLock<Capture> = OnceLock::new();

/// Every relay log line (debug and up) of this test binary, also echoed when `TEST_LOG` is set.
pub fn init_log() {
    LOG.get_or_init(|| {
        let cap = Capture::default();
        let writer = cap.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("streampai=debug"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init();
        cap
    });
}

pub fn captured_log() -> String {
    LOG.get().map(|c| String::from_utf8_lossy(&c.0.lock().unwrap()).into_owned()).unwrap_or_default()
}

// ---------- waiting ----------

/// Poll `cond` every 50 ms until it holds or `timeout` passes.
pub async fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_listening(port: u16) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if std::net::TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

// ---------- media ----------

pub struct Media {
    _dir: TempDir,
    pub path: PathBuf,
    pub probe: Probe,
}

/// The test media, encoded once per test binary (H.264 main + AAC, 720p30, GOP 2 s).
pub fn media() -> &'static Media {
    static MEDIA: OnceLock<Media> = OnceLock::new();
    MEDIA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("src.flv");
        let secs = MEDIA_SECS.to_string();
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"])
            .args(["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000", "-t", &secs])
            .args(["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p"])
            .args(["-b:v", "2500k", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0"])
            .args(["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"])
            .arg(&path)
            .status()
            .expect("run ffmpeg");
        assert!(status.success(), "encoding the test media failed");
        let probe = probe(&path).expect("probe the source");
        Media { _dir: dir, path, probe }
    })
}

/// Publish the test media in real time, optionally only its first `secs` seconds.
pub fn publish(addr: SocketAddr, app: &str, key: &str, secs: Option<u32>) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new("ffmpeg");
    cmd.args(["-v", "error", "-re"]);
    if let Some(s) = secs {
        cmd.args(["-t", &s.to_string()]);
    }
    cmd.arg("-i")
        .arg(&media().path)
        .args(["-c", "copy", "-f", "flv"])
        .arg(format!("rtmp://{addr}/{app}/{key}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ffmpeg")
}

#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub video_codec: String,
    pub audio_codec: String,
    pub video_frames: u64,
    pub audio_frames: u64,
    pub duration: f64,
}

/// Codecs, frame counts (`-count_frames`) and the media span of a recording: last minus first
/// packet timestamp (container duration fields differ between muxers, timestamps do not).
pub fn probe(path: &Path) -> Option<Probe> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries"])
        .args(["stream=codec_type,codec_name,nb_read_frames", "-of", "json"])
        .arg(path)
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let mut p = Probe {
        video_codec: String::new(),
        audio_codec: String::new(),
        video_frames: 0,
        audio_frames: 0,
        duration: packet_span(path)?,
    };
    for s in v["streams"].as_array()? {
        let frames = s["nb_read_frames"].as_str().and_then(|n| n.parse().ok()).unwrap_or(0);
        let codec = s["codec_name"].as_str().unwrap_or_default().to_string();
        match s["codec_type"].as_str() {
            Some("video") => (p.video_codec, p.video_frames) = (codec, frames),
            Some("audio") => (p.audio_codec, p.audio_frames) = (codec, frames),
            _ => {}
        }
    }
    Some(p)
}

fn packet_span(path: &Path) -> Option<f64> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "packet=pts_time", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .ok()?;
    let pts: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    let min = pts.iter().copied().fold(f64::INFINITY, f64::min);
    let max = pts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (max >= min).then_some(max - min)
}

/// Whether the first video packet of a recording is a keyframe.
pub fn starts_on_keyframe(path: &Path) -> bool {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v", "-read_intervals", "%+#1"])
        .args(["-show_entries", "packet=flags", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout).lines().next().is_some_and(|l| l.trim().starts_with('K'))
}

/// Same codecs; frame counts equal to the source's within `slack` frames, and the media span
/// within two frames.
pub fn assert_complete(rec: &Probe, src: &Probe, slack: u64, what: &str) {
    assert_eq!((rec.video_codec.as_str(), rec.audio_codec.as_str()), ("h264", "aac"), "{what}: {rec:?}");
    assert!(rec.video_frames.abs_diff(src.video_frames) <= slack, "{what}: video {rec:?} vs {src:?}");
    assert!(rec.audio_frames.abs_diff(src.audio_frames) <= slack, "{what}: audio {rec:?} vs {src:?}");
    // Two frames at 30 fps.
    assert!((rec.duration - src.duration).abs() <= 0.067, "{what}: duration {rec:?} vs {src:?}");
}

// ---------- nginx ----------

/// One nginx (single process) with an RTMP server and one recording application per platform;
/// optionally a TLS front end (`stream` module) for RTMPS.
pub struct Nginx {
    dir: TempDir,
    child: Option<Child>,
    pub port: u16,
    pub tls_port: Option<u16>,
}

pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Nginx {
    pub fn start(apps: &[&str]) -> Nginx {
        Self::start_on(free_port(), apps, None)
    }

    pub fn start_on(port: u16, apps: &[&str], tls: Option<&Tls>) -> Nginx {
        Self::launch(port, apps, tls, true)
    }

    /// Live applications that record nothing (for the benchmark).
    pub fn start_live(apps: &[&str]) -> Nginx {
        Self::launch(free_port(), apps, None, false)
    }

    fn launch(port: u16, apps: &[&str], tls: Option<&Tls>, record: bool) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("conf")).unwrap();
        std::fs::create_dir_all(root.join("logs")).unwrap();
        let mut applications = String::new();
        for app in apps {
            let rec = root.join("rec").join(app);
            std::fs::create_dir_all(&rec).unwrap();
            applications += &if record {
                format!(
                    "application {app} {{ live on; record all; record_unique on; record_path {}; }}\n",
                    rec.display()
                )
            } else {
                format!("application {app} {{ live on; }}\n")
            };
        }
        let tls_port = tls.map(|_| free_port());
        let (stream_module, stream_block) = match (tls, tls_port) {
            (Some(t), Some(tp)) => (
                format!("load_module {STREAM_MODULE};"),
                format!(
                    "stream {{ server {{ listen 127.0.0.1:{tp} ssl; ssl_certificate {}; ssl_certificate_key {}; proxy_pass 127.0.0.1:{port}; }} }}",
                    t.cert.display(),
                    t.key.display()
                ),
            ),
            _ => (String::new(), String::new()),
        };
        let conf = format!(
            "load_module {RTMP_MODULE};\n{stream_module}\ndaemon off;\nmaster_process off;\nworker_processes 1;\n\
             pid logs/nginx.pid;\nerror_log logs/error.log info;\nevents {{ worker_connections 128; }}\n\
             rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096;\n{applications} }} }}\n{stream_block}\n"
        );
        std::fs::write(root.join("conf/nginx.conf"), conf).unwrap();
        let child = spawn_nginx(root);
        let n = Nginx { dir, child: Some(child), port, tls_port };
        assert!(wait_listening(port), "nginx did not listen on {port}: {}", n.error_log());
        if let Some(tp) = tls_port {
            assert!(wait_listening(tp), "nginx TLS did not listen on {tp}");
        }
        n
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn url(&self, app: &str) -> String {
        format!("rtmp://127.0.0.1:{}/{app}", self.port)
    }

    /// SIGKILL: the platform dies without a goodbye.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn recordings(&self, app: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("rec").join(app))
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("logs/error.log")).unwrap_or_default()
    }

    /// Wait until the app's only recording probes as complete compared with `src`.
    pub async fn wait_recording(&self, app: &str, src: &Probe, slack: u64) -> Probe {
        let mut last = None;
        let ok = wait_until(Duration::from_secs(15), || {
            let recs = self.recordings(app);
            last = recs.last().and_then(|p| probe(p));
            last.as_ref().is_some_and(|p| {
                p.video_frames.abs_diff(src.video_frames) <= slack
                    && p.audio_frames.abs_diff(src.audio_frames) <= slack
            })
        })
        .await;
        let last =
            last.unwrap_or_else(|| panic!("{app}: no readable recording; nginx log:\n{}", self.error_log()));
        assert!(ok, "{app}: recording incomplete: {last:?} vs source {src:?}");
        last
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A self-signed certificate for 127.0.0.1 (not a CA, so rustls accepts it as a leaf when it
/// is also given as a root).
pub fn self_signed(dir: &Path) -> Tls {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success(), "openssl req failed");
    Tls { cert, key }
}

/// Runs nginx on the prefix `root` with its `conf/nginx.conf` (logs under `root/logs`).
pub fn spawn_nginx(root: &Path) -> Child {
    Command::new("nginx")
        .arg("-p")
        .arg(root)
        .args(["-c", "conf/nginx.conf", "-e", "logs/error.log"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nginx")
}
