//! Real OBS Studio, headless, for the OBS tests: a throwaway HOME whose `global.ini` turns the
//! WebSocket server on, a random port and password, Xvfb through `xvfb-run -a` and software GL
//! (`../shared/PLATFORM-NOTES.md`, "Real OBS Studio, headless"). OBS runs in a process group of
//! its own, stopped (SIGTERM) or killed (SIGKILL) as a whole. `scripts/obs-deps.sh` installs it.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Whether `obs` and `xvfb-run` are installed.
pub fn available() -> bool {
    let on_path = |cmd: &str| {
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
    };
    cfg!(unix) && on_path("obs") && on_path("xvfb-run")
}

/// Skip (with a message) only where OBS is not installed; CI must have it.
#[macro_export]
macro_rules! require_obs {
    () => {
        if !obs_support::available() {
            assert!(std::env::var_os("CI").is_none(), "CI must install OBS (scripts/obs-deps.sh)");
            eprintln!("SKIPPED: OBS Studio / xvfb-run not installed (run scripts/obs-deps.sh)");
            return;
        }
    };
}

/// One OBS at a time per test binary: each OBS renders and encodes on a 2-core machine, and
/// `xvfb-run -a` picks its display by a check that races with a parallel start.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running (or stopped) headless OBS with its WebSocket server on `port`.
pub struct Obs {
    home: TempDir,
    child: Option<Child>,
    pub port: u16,
    pub password: String,
}

impl Obs {
    /// A fresh OBS (empty profile) on a random port with a random password.
    pub fn start() -> Obs {
        let password = format!("obs-pw-{}", rand_suffix());
        let mut obs = Obs { home: tempfile::tempdir().unwrap(), child: None, port: free_port(), password };
        obs.launch();
        obs
    }

    /// A fresh OBS on `port` (e.g. one an engine already tries to reach).
    pub fn start_on(port: u16) -> Obs {
        let password = format!("obs-pw-{}", rand_suffix());
        let mut obs = Obs { home: tempfile::tempdir().unwrap(), child: None, port, password };
        obs.launch();
        obs
    }

    /// A URL for `[obs] url`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Start again (same HOME, port and password: OBS keeps its profile, e.g. stream settings).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill OBS first");
        self.launch();
    }

    fn launch(&mut self) {
        let conf = self.home.path().join(".config/obs-studio");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(
            conf.join("global.ini"),
            format!(
                "[General]\nFirstRun=true\n\n[OBSWebSocket]\nFirstLoad=false\nServerEnabled=true\n\
                 ServerPort={}\nAuthRequired=true\nServerPassword={}\n",
                self.port, self.password
            ),
        )
        .unwrap();
        let log = std::fs::File::create(self.home.path().join("obs.log")).unwrap();
        let mut cmd = Command::new("xvfb-run");
        cmd.args(["-a", "-s", "-screen 0 1280x720x24", "obs", "--disable-shutdown-check", "--multi"])
            .args(["--websocket_port", &self.port.to_string(), "--websocket_password", &self.password])
            .env("HOME", self.home.path())
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .env_remove("DISPLAY")
            .current_dir(self.home.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        self.child = Some(cmd.spawn().expect("spawn xvfb-run obs"));
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let end = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < end, "OBS did not open its WebSocket port; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// OBS's own log (stdout + stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("obs.log")).unwrap_or_default()
    }

    /// SIGTERM to OBS's process group (OBS closes as when the user quits), then wait.
    pub fn stop(&mut self) {
        self.signal(Signal::Term);
    }

    /// SIGKILL to OBS's process group: OBS dies without a goodbye (a crash).
    pub fn kill(&mut self) {
        self.signal(Signal::Kill);
    }

    fn signal(&mut self, sig: Signal) {
        let Some(mut child) = self.child.take() else { return };
        #[cfg(unix)]
        {
            let s = match sig {
                Signal::Term => libc::SIGTERM,
                Signal::Kill => libc::SIGKILL,
            };
            // SAFETY: kill(2) on the group this test started (process_group(0): pgid = pid).
            unsafe { libc::kill(-(child.id() as i32), s) };
            let end = Instant::now() + Duration::from_secs(15);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    _ if Instant::now() > end => {
                        unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                        let _ = child.wait();
                        break;
                    }
                    _ => std::thread::sleep(Duration::from_millis(50)),
                }
            }
            // xvfb-run's Xvfb and OBS share the group: make sure none is left.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
        }
        #[cfg(not(unix))]
        {
            let _ = sig;
            let _ = child.kill();
            let _ = child.wait();
        }
        // The port is free again once OBS is gone.
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let end = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }
}

/// A TCP proxy in front of `upstream` that counts the connections it accepts (how often the app
/// tried to reach OBS).
pub struct CountingProxy {
    pub port: u16,
    pub accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingProxy {
    pub async fn start(upstream: u16) -> CountingProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        CountingProxy { port, accepted, task }
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    pub fn count(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum Signal {
    Term,
    Kill,
}

impl Drop for Obs {
    fn drop(&mut self) {
        self.kill();
    }
}

fn rand_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    format!("{:x}", h.finish())
}

/// The test's own obs-websocket client (independent of the app's): authenticates and sends
/// requests one at a time, skipping events. For setting OBS up and reading it back.
pub struct ObsControl {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    next_id: u64,
}

impl ObsControl {
    pub async fn connect(obs: &Obs) -> ObsControl {
        use base64::Engine as _;
        use futures::{SinkExt, StreamExt};
        use sha2::{Digest, Sha256};
        use tokio_tungstenite::tungstenite::Message;
        let (mut ws, _) = tokio_tungstenite::connect_async(obs.url()).await.expect("connect to OBS");
        let hello = loop {
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                break serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap();
            }
        };
        let auth = &hello["d"]["authentication"];
        let b64 = base64::engine::general_purpose::STANDARD;
        let secret =
            b64.encode(Sha256::digest(format!("{}{}", obs.password, auth["salt"].as_str().unwrap())));
        let answer = b64.encode(Sha256::digest(format!("{secret}{}", auth["challenge"].as_str().unwrap())));
        let identify = serde_json::json!({"op": 1, "d": {"rpcVersion": 1, "authentication": answer, "eventSubscriptions": 0}});
        ws.send(Message::Text(identify.to_string().into())).await.unwrap();
        loop {
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                assert_eq!(v["op"], 2, "identified: {v}");
                break;
            }
        }
        ObsControl { ws, next_id: 1 }
    }

    /// Send a request; its `responseData` (panics on an error status).
    pub async fn request(&mut self, ty: &str, data: serde_json::Value) -> serde_json::Value {
        use futures::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let id = self.next_id.to_string();
        self.next_id += 1;
        let req =
            serde_json::json!({"op": 6, "d": {"requestType": ty, "requestId": id, "requestData": data}});
        self.ws.send(Message::Text(req.to_string().into())).await.unwrap();
        loop {
            let Some(Ok(Message::Text(t))) = self.ws.next().await else { continue };
            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
            if v["op"] == 7 && v["d"]["requestId"] == id.as_str() {
                assert_eq!(v["d"]["requestStatus"]["result"], true, "{ty} failed: {v}");
                return v["d"].get("responseData").cloned().unwrap_or(serde_json::Value::Null);
            }
        }
    }

    pub async fn stream_service(&mut self) -> serde_json::Value {
        self.request("GetStreamServiceSettings", serde_json::json!({})).await
    }

    pub async fn streaming(&mut self) -> bool {
        self.request("GetStreamStatus", serde_json::json!({})).await["outputActive"] == true
    }
}
