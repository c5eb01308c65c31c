//! RTMP servers other than nginx-rtmp standing in for platforms, each recording what it
//! receives: FFmpeg's own server (`ffmpeg -listen 1`), pyrtmp (pure Python, PyPI), and a TLS
//! terminator (nginx `stream` with ssl) to put in front of any of them for RTMPS.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{free_port, Tls, STREAM_MODULE};

fn kill(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// `ffmpeg -listen 1 -i rtmp://127.0.0.1:PORT/APP/KEY -c copy out.flv`: takes one publisher,
/// records it, and exits when it unpublishes.
pub struct FfmpegServer {
    dir: TempDir,
    child: Option<Child>,
    pub port: u16,
}

impl FfmpegServer {
    pub fn start(app: &str, key: &str) -> FfmpegServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-listen", "1", "-i"])
            .arg(format!("rtmp://127.0.0.1:{port}/{app}/{key}"))
            .args(["-c", "copy", "-map", "0"])
            .arg(dir.path().join("out.flv"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ffmpeg -listen");
        FfmpegServer { dir, child: Some(child), port }
    }

    pub fn url(&self, app: &str) -> String {
        format!("rtmp://127.0.0.1:{}/{app}", self.port)
    }

    /// Wait (bounded) for ffmpeg to finish its recording; the file, and ffmpeg's error output.
    pub fn finish(&mut self, timeout: Duration) -> (PathBuf, String) {
        let end = Instant::now() + timeout;
        let mut stderr = String::new();
        if let Some(c) = self.child.as_mut() {
            while Instant::now() < end {
                if c.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if c.try_wait().ok().flatten().is_some() {
                if let Some(mut e) = c.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
                }
            }
        }
        kill(&mut self.child);
        (self.dir.path().join("out.flv"), stderr)
    }
}

impl Drop for FfmpegServer {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// Where a Python with pyrtmp installed is (`scripts/relay-deps.sh` installs it).
pub fn pyrtmp_python() -> Option<String> {
    for py in ["python3", "python"] {
        let ok = Command::new(py)
            .args(["-c", "import pyrtmp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(py.to_string());
        }
    }
    None
}

/// pyrtmp's server, recording each stream to `<key>.flv` (`pyrtmp_recorder.py`).
pub struct PyRtmp {
    dir: TempDir,
    child: Option<Child>,
    pub port: u16,
}

impl PyRtmp {
    pub fn start() -> PyRtmp {
        let py = pyrtmp_python().expect("pyrtmp is not installed: run scripts/relay-deps.sh");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/relay_support/pyrtmp_recorder.py");
        let mut child = Command::new(py)
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pyrtmp");
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        assert_eq!(line.trim(), "READY", "pyrtmp did not start");
        PyRtmp { dir, child: Some(child), port }
    }

    pub fn url(&self, app: &str) -> String {
        format!("rtmp://127.0.0.1:{}/{app}", self.port)
    }

    pub fn recording(&self, key: &str) -> PathBuf {
        self.dir.path().join(format!("{key}.flv"))
    }
}

impl Drop for PyRtmp {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// nginx's `stream` module terminating TLS on `tls_port` and passing the bytes to `upstream`.
pub struct TlsProxy {
    _dir: TempDir,
    child: Option<Child>,
    pub tls_port: u16,
}

impl TlsProxy {
    pub fn start(upstream: u16, tls: &Tls) -> TlsProxy {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("conf")).unwrap();
        std::fs::create_dir_all(root.join("logs")).unwrap();
        let tls_port = free_port();
        let conf = format!(
            "load_module {STREAM_MODULE};\ndaemon off;\nmaster_process off;\nworker_processes 1;\n\
             pid logs/nginx.pid;\nerror_log logs/error.log info;\nevents {{ worker_connections 64; }}\n\
             stream {{ server {{ listen 127.0.0.1:{tls_port} ssl; ssl_certificate {}; ssl_certificate_key {}; \
             proxy_pass 127.0.0.1:{upstream}; }} }}\n",
            tls.cert.display(),
            tls.key.display()
        );
        std::fs::write(root.join("conf/nginx.conf"), conf).unwrap();
        let child = super::spawn_nginx(root);
        let p = TlsProxy { _dir: dir, child: Some(child), tls_port };
        assert!(super::wait_listening(tls_port), "the TLS proxy did not listen on {tls_port}");
        p
    }

    pub fn url(&self, app: &str) -> String {
        format!("rtmps://127.0.0.1:{}/{app}", self.tls_port)
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}
