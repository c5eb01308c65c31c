//! Opens a web page in the user's browser (a platform's sign-in page). Only `https://` pages, and
//! `http://` ones on this machine (a test fake, a local proxy): the UI never hands the shell an
//! arbitrary address, only the engine's sign-in pages go through here.
//!
//! `STREAMPAI_BROWSER` names a program to run with the address as its only argument instead of
//! the system's default browser (a kiosk setup, a browser profile of its own; the end-to-end
//! tests record the address with it, so no real browser starts).

use std::ffi::OsString;
use std::process::{Command, Stdio};

/// The variable naming the program that opens pages instead of the system's browser.
pub const BROWSER_ENV: &str = "STREAMPAI_BROWSER";

/// Why a page could not be opened (words for the UI; the address is shown next to it anyway).
pub fn url_problem(url: &str) -> Option<String> {
    let u = match url::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return Some(format!("not a web address ({e})")),
    };
    if !matches!(u.scheme(), "https" | "http") {
        return Some(format!("only https:// pages are opened, not {}://", u.scheme()));
    }
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Some("the address has no host".into()),
    };
    (u.scheme() == "http" && !loopback)
        .then(|| "only https:// pages are opened (http:// only on this machine)".into())
}

/// Opens `url` with `browser` (a program taking the address as its argument) or, without one,
/// the system's default browser. Returns without waiting for the browser.
pub fn open_with(url: &str, browser: Option<OsString>) -> Result<(), String> {
    if let Some(problem) = url_problem(url) {
        return Err(problem);
    }
    match browser.filter(|b| !b.is_empty()) {
        Some(program) => Command::new(&program)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(|_| ())
            .map_err(|e| format!("cannot run {BROWSER_ENV} ({}): {e}", program.to_string_lossy())),
        None => open::that_detached(url).map_err(|e| format!("no browser could be started: {e}")),
    }
}

/// The program `STREAMPAI_BROWSER` names, if any (read once, when the shell starts).
pub fn from_env() -> Option<OsString> {
    std::env::var_os(BROWSER_ENV).filter(|b| !b.is_empty())
}

/// Opens `url` with `browser` (see [`from_env`]), else the system's default browser; logged.
pub fn open(url: &str, browser: Option<OsString>) -> Result<(), String> {
    let result = open_with(url, browser);
    match &result {
        Ok(()) => tracing::info!(url = %streampai::telemetry::esc(url), "opened in the browser"),
        Err(e) => tracing::warn!(url = %streampai::telemetry::esc(url), cause = %e, "cannot open a page"),
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_pages_are_opened() {
        assert_eq!(url_problem("https://www.twitch.tv/activate?public=true&device-code=ABCD"), None);
        assert_eq!(url_problem("http://127.0.0.1:9/activate"), None);
        assert_eq!(url_problem("http://localhost:9/"), None);
        assert!(url_problem("http://example.com/activate").unwrap().contains("https://"));
        assert!(url_problem("file:///etc/passwd").unwrap().contains("file://"));
        assert!(url_problem("javascript:alert(1)").is_some());
        assert!(url_problem("not a url").unwrap().contains("not a web address"));
        assert!(
            open_with("file:///etc/passwd", Some("true".into())).is_err(),
            "refused before anything runs"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_named_program_gets_the_address() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("opened");
        let script = dir.path().join("browser.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nprintf '%s' \"$1\" > {}.tmp && mv {0}.tmp {0}\n", out.display()),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let url = "https://www.twitch.tv/activate?public=true&device-code=WDJBMJHT";
        open_with(url, Some(script.clone().into())).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !out.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(std::fs::read_to_string(&out).unwrap(), url, "one argument, as given");
        let missing = open_with("https://x.example/", Some(dir.path().join("nope").into())).unwrap_err();
        assert!(missing.contains(BROWSER_ENV), "{missing}");
    }
}
