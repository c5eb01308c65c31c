//! The Windows installer (`streampai-desktop_<version>_x64-setup.exe`, our NSIS script
//! `scripts/windows/installer.nsi`) under Wine, silently (`/S`) in a throwaway prefix:
//!
//! - without WebView2, it downloads the bootstrapper (here a stand-in served over loopback HTTP,
//!   `tests/windows/fake_webview2_setup.c`) and runs it with `/silent /install`;
//! - the files land byte for byte in `%LOCALAPPDATA%\Programs\Streampai`, with the uninstaller,
//!   the Start menu shortcut and the Apps & features entry (version, uninstall command);
//! - a second install finds WebView2 and downloads nothing;
//! - the uninstaller removes the program, the shortcut, the entry and the start-on-login value,
//!   and keeps the user's data folder;
//! - with WebView2 missing and the bootstrapper unreachable, the install fails (exit code 4) and
//!   leaves nothing behind;
//! - the per-machine variant (when given) installs to Program Files with an HKLM entry.
//!
//! Ignored by default: `scripts/wine-installer.sh` builds the installer and runs this with
//! `STREAMPAI_WINDOWS_SETUP`, `STREAMPAI_WINDOWS_STAGE` (the files the installer packs),
//! `STREAMPAI_FAKE_WEBVIEW2`, optionally `STREAMPAI_WINDOWS_SETUP_ALLUSERS`, and `WINE`.
//! What only a real Windows can prove (the AppUserModelID on the shortcut, WebView2 rendering,
//! toasts): README, "Windows".

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const UNINSTALL_KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Uninstall\Streampai";
const RUN_KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";
const WEBVIEW2_KEY: &str =
    r"HKCU\Software\Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}";
const SHELL_FOLDERS: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\Shell Folders";

struct Wine {
    wine: String,
    server: String,
    prefix: PathBuf,
    fake_log: PathBuf,
}

impl Wine {
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(&self.wine);
        c.arg(program)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            // No Linux menu entries for the Start menu shortcut (they would land in $HOME).
            .env("WINEDLLOVERRIDES", "winemenubuilder.exe=d")
            .env("STREAMPAI_FAKE_WEBVIEW2_LOG", self.windows_path(&self.fake_log));
        c
    }

    /// Runs a Windows program to its end.
    fn run(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> (i32, String) {
        let out = self.cmd(program).args(args).output().expect("run wine");
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    }

    /// Waits until every process of the prefix has ended (the NSIS uninstaller re-launches
    /// itself from %TEMP% and returns at once).
    fn settle(&self) {
        let ok = Command::new(&self.server)
            .arg("-w")
            .env("WINEPREFIX", &self.prefix)
            .status()
            .expect("wineserver -w");
        assert!(ok.success());
    }

    /// A registry value (`reg query KEY /v NAME`), `None` if the key or value is absent.
    fn reg(&self, key: &str, name: &str) -> Option<String> {
        let (code, out) = self.run("reg", &["query", key, "/v", name]);
        if code != 0 {
            return None;
        }
        out.lines().find_map(|l| {
            let mut parts = l.trim().splitn(3, "    ");
            if parts.next()? != name {
                return None;
            }
            let _type = parts.next()?;
            Some(parts.next().unwrap_or("").trim().to_string())
        })
    }

    fn key_exists(&self, key: &str) -> bool {
        self.run("reg", &["query", key]).0 == 0
    }

    /// A Windows path inside the prefix as a Linux path.
    fn unix_path(&self, windows: &str) -> PathBuf {
        let out = self.cmd("winepath").args(["-u", windows]).output().expect("winepath");
        assert!(out.status.success(), "winepath {windows}");
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    }

    /// A Linux path as Wine's `Z:` drive sees it.
    fn windows_path(&self, unix: &Path) -> String {
        format!("Z:{}", unix.display()).replace('/', "\\")
    }

    fn uninstall(&self, folder: &Path) -> (i32, String) {
        let res = self.run(folder.join("uninstall.exe"), &["/S"]);
        self.settle();
        res
    }

    fn shell_folder(&self, name: &str) -> PathBuf {
        let win = self.reg(SHELL_FOLDERS, name).unwrap_or_else(|| panic!("shell folder {name}"));
        self.unix_path(&win)
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        let _ = Command::new(&self.server).arg("-k").env("WINEPREFIX", &self.prefix).status();
    }
}

/// Serves `body` to every GET (the stand-in bootstrapper), counting the requests.
fn serve(body: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/MicrosoftEdgeWebview2Setup.exe", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let count = hits.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().map_while(Result::ok) {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            if head.starts_with(b"GET ") {
                count.fetch_add(1, Ordering::SeqCst);
            }
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(&body);
        }
    });
    (url, hits)
}

fn env_path(name: &str) -> PathBuf {
    let p = PathBuf::from(std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set")));
    assert!(p.exists(), "{name}: {} does not exist", p.display());
    p
}

/// `streampai-desktop_0.1.0_x64-setup.exe` → `0.1.0`.
fn version_of(setup: &Path) -> String {
    let name = setup.file_name().unwrap().to_string_lossy();
    name.split('_').nth(1).expect("streampai-desktop_<version>_x64-setup.exe").to_string()
}

#[test]
#[ignore = "needs the built installer and wine64: scripts/wine-installer.sh"]
fn the_installer_installs_registers_fetches_webview2_and_uninstalls_under_wine() {
    let setup = env_path("STREAMPAI_WINDOWS_SETUP");
    let stage = env_path("STREAMPAI_WINDOWS_STAGE");
    let fake = env_path("STREAMPAI_FAKE_WEBVIEW2");
    let version = version_of(&setup);
    let dir = tempfile::tempdir().unwrap();
    let wine = Wine {
        wine: std::env::var("WINE").unwrap_or_else(|_| "wine64".into()),
        server: std::env::var("WINESERVER").unwrap_or_else(|_| "wineserver".into()),
        prefix: dir.path().join("prefix"),
        fake_log: dir.path().join("webview2-setup.log"),
    };
    let (code, out) = wine.run("wineboot", &["-i"]);
    assert_eq!(code, 0, "wineboot: {out}");
    assert!(!wine.key_exists(WEBVIEW2_KEY), "a fresh prefix has no WebView2");
    let (url, hits) = serve(std::fs::read(&fake).unwrap());
    let bootstrapper = format!("/WEBVIEW2BOOTSTRAPPER={url}");

    // 1. First install: WebView2 is fetched and run, then the app lands.
    let (code, out) = wine.run(&setup, &["/S", &bootstrapper]);
    assert_eq!(code, 0, "install: {out}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the bootstrapper was downloaded once");
    let ran = std::fs::read_to_string(&wine.fake_log).expect("the bootstrapper ran");
    assert!(ran.trim_end().ends_with("/silent /install"), "bootstrapper command line: {ran}");
    assert!(wine.key_exists(WEBVIEW2_KEY));

    let key = format!(r"HKCU\{UNINSTALL_KEY}");
    let location = wine.reg(&key, "InstallLocation").expect("Apps & features entry");
    assert!(location.ends_with(r"\AppData\Local\Programs\Streampai"), "per-user folder: {location}");
    assert_eq!(wine.reg(&key, "DisplayName").as_deref(), Some("Streampai"));
    assert_eq!(wine.reg(&key, "DisplayVersion"), Some(version.clone()));
    assert_eq!(wine.reg(&key, "UninstallString"), Some(format!(r#""{location}\uninstall.exe""#)));
    let installed = wine.unix_path(&location);
    let mut packed = 0;
    for entry in std::fs::read_dir(&stage).unwrap() {
        let src = entry.unwrap().path();
        let dst = installed.join(src.file_name().unwrap());
        assert!(dst.exists(), "{} was not installed", dst.display());
        assert!(std::fs::read(&src).unwrap() == std::fs::read(&dst).unwrap(), "{} differs", dst.display());
        packed += 1;
    }
    assert!(packed >= 1 && installed.join("streampai-desktop.exe").exists());
    assert!(installed.join("uninstall.exe").exists());
    let shortcut = wine.shell_folder("Programs").join("Streampai.lnk");
    assert!(shortcut.exists(), "Start menu shortcut {}", shortcut.display());

    // 2. Reinstall over it: WebView2 is there now, nothing is downloaded.
    let (code, out) = wine.run(&setup, &["/S", &bootstrapper]);
    assert_eq!(code, 0, "reinstall: {out}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "no second download");

    // 3. The app ran and was set to start on login; then the uninstaller.
    let data = wine.shell_folder("AppData").join("streampai");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("streampai.db"), b"the streamer's history").unwrap();
    let run_value = format!(r#""{location}\streampai-desktop.exe" --minimized"#);
    let (code, out) = wine.run("reg", &["add", RUN_KEY, "/v", "Streampai", "/d", &run_value, "/f"]);
    assert_eq!(code, 0, "reg add: {out}");
    let (code, out) = wine.uninstall(&installed);
    assert_eq!(code, 0, "uninstall: {out}");
    assert!(!installed.exists(), "the program folder is gone: {:?}", std::fs::read_dir(&installed).ok());
    assert!(!shortcut.exists(), "the shortcut is gone");
    assert!(!wine.key_exists(&key), "the Apps & features entry is gone");
    assert_eq!(wine.reg(RUN_KEY, "Streampai"), None, "start on login is gone");
    assert!(data.join("streampai.db").exists(), "the user's data stays");

    // 4. No WebView2 and no way to fetch it: the install fails and leaves nothing.
    let (code, out) = wine.run("reg", &["delete", WEBVIEW2_KEY, "/f"]);
    assert_eq!(code, 0, "reg delete: {out}");
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("/WEBVIEW2BOOTSTRAPPER=http://{}/setup.exe", closed.local_addr().unwrap());
    drop(closed);
    let (code, out) = wine.run(&setup, &["/S", &dead]);
    assert_eq!(code, 4, "a failed WebView2 download fails the install: {out}");
    assert!(!installed.exists() && !wine.key_exists(&key), "nothing installed");

    // 5. The per-machine variant: Program Files and an HKLM entry.
    if let Ok(all) = std::env::var("STREAMPAI_WINDOWS_SETUP_ALLUSERS") {
        let (code, out) = wine.run(&all, &["/S", "/NOWEBVIEW2"]);
        assert_eq!(code, 0, "per-machine install: {out}");
        let key = format!(r"HKLM\{UNINSTALL_KEY}");
        let location = wine.reg(&key, "InstallLocation").expect("HKLM entry");
        assert!(location.ends_with(r"\Program Files\Streampai"), "per-machine folder: {location}");
        let installed = wine.unix_path(&location);
        assert!(installed.join("streampai-desktop.exe").exists());
        let (code, out) = wine.uninstall(&installed);
        assert_eq!(code, 0, "per-machine uninstall: {out}");
        assert!(!installed.exists() && !wine.key_exists(&key), "per-machine uninstall leaves nothing");
    }
}
