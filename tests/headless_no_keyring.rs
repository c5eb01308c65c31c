//! The headless engine on a server without a keyring (no D-Bus session, so no Secret Service):
//! secrets go to `<data dir>/secrets.json`, so the control token and the overlay key survive a
//! restart (the OBS overlay URL keeps working) and the CLI finds the token without env vars.

mod support;

use std::path::{Path, PathBuf};

use support::headless::{config_file, Headless};

fn write_config(dir: &Path) -> PathBuf {
    config_file(dir, "")
}

fn stored(data: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(data.join("secrets.json")).expect("the secrets file");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn without_a_keyring_the_overlay_key_and_the_control_token_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let data = dir.path().join("data");

    let first = Headless::start(&config, dir.path(), "info");
    let secrets = stored(&data);
    let overlay = secrets["secrets"]["overlay-key"].as_str().expect("overlay key stored").to_string();
    assert!(secrets["secrets"]["control-token"].is_string(), "control token stored");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("secrets.json")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(first.get_status(&format!("/overlay/alerts?key={overlay}")), 200);
    let out = first.cli(&config, &["status"]);
    assert!(out.status.success(), "the CLI reads the token from the file: {out:?}");
    let logs = first.stop();
    assert!(logs.contains("secrets are stored in") && logs.contains("secrets.json"), "said once: {logs}");
    assert!(logs.contains("saved it in the secrets file"), "{logs}");

    // Restart: the same overlay URL still works, no new token is made, the CLI still gets in.
    let second = Headless::start(&config, dir.path(), "info");
    assert_eq!(second.get_status(&format!("/overlay/alerts?key={overlay}")), 200, "{}", second.logs());
    assert_ne!(second.get_status("/overlay/alerts?key=wrong"), 200);
    let out = second.cli(&config, &["status"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"stream\""), "{out:?}");
    let logs = second.stop();
    assert!(!logs.contains("generated a control token"), "{logs}");
    assert_eq!(stored(&data)["secrets"]["overlay-key"].as_str(), Some(overlay.as_str()));
}
