//! The keyring path for real: the engine's `LayeredSecrets<KeyringSecrets>` (what the app uses)
//! against a running Secret Service. Ignored by default (it needs an unlocked keyring daemon);
//! scripts/test-desktop.sh runs it under dbus-run-session with gnome-keyring.

use streampai::secrets::{KeyringSecrets, LayeredSecrets, Secret, SecretName, SecretStore};

#[test]
#[ignore = "needs a Secret Service: run through scripts/test-desktop.sh"]
fn secrets_round_trip_through_the_os_keyring() {
    let service = format!("streampai-test-{}", std::process::id());
    let store = LayeredSecrets::new(KeyringSecrets::with_service(&service));
    let name = SecretName::StreamKey("keyring-check".into());
    assert_eq!(store.get(&name).unwrap(), None);
    store.set(&name, &Secret::new("value-1")).unwrap();
    // A new store object reads through a new keyring entry: the value really is in the daemon.
    let again = LayeredSecrets::new(KeyringSecrets::with_service(&service));
    assert_eq!(again.get(&name).unwrap().unwrap().expose(), "value-1");
    again.set(&name, &Secret::new("value-2")).unwrap();
    assert_eq!(store.get(&name).unwrap().unwrap().expose(), "value-2");
    store.delete(&name).unwrap();
    assert_eq!(again.get(&name).unwrap(), None);
    store.delete(&name).unwrap(); // deleting twice is fine
}

/// With a working Secret Service the keyring is chosen (no secrets file), and the start-up probe
/// leaves nothing behind in it.
#[test]
#[ignore = "needs a Secret Service: run through scripts/test-desktop.sh"]
fn a_working_keyring_is_chosen_over_the_secrets_file() {
    use streampai::secrets::{open_with, probe, SecretBackendKind, SECRETS_FILE};
    let service = format!("streampai-test-probe-{}", std::process::id());
    probe(&KeyringSecrets::with_service(&service)).expect("the keyring keeps a value");
    assert_eq!(KeyringSecrets::with_service(&service).get(&SecretName::Probe).unwrap(), None);
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), KeyringSecrets::with_service(&service).in_data_dir(dir.path()));
    assert_eq!(store.backend().kind, SecretBackendKind::Keyring);
    let name = SecretName::StreamKey("probe-check".into());
    store.set(&name, &Secret::new("v")).unwrap();
    assert!(!dir.path().join(SECRETS_FILE).exists());
    store.delete(&name).unwrap();
}
