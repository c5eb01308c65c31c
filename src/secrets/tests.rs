use super::*;

#[test]
fn generated_once_then_kept() {
    let store = MemorySecrets::new();
    let a = get_or_generate(&store, &SecretName::OverlayKey);
    assert_eq!(get_or_generate(&store, &SecretName::OverlayKey), a);
    let env_only = EnvSecrets;
    assert_ne!(
        get_or_generate(&env_only, &SecretName::KofiToken),
        get_or_generate(&env_only, &SecretName::KofiToken)
    );
}

#[test]
fn secret_never_formats_its_value() {
    let s = Secret::new("hunter2");
    assert!(!format!("{s:?} {s}").contains("hunter2"));
    assert_eq!(s.expose(), "hunter2");
}

#[test]
fn env_names_follow_the_contract() {
    assert_eq!(SecretName::StreamKey("twitch-main".into()).env_var(), "STREAMPAI_STREAM_KEY_TWITCH_MAIN");
    assert_eq!(SecretName::ControlToken.env_var(), "STREAMPAI_CONTROL_TOKEN");
}

#[test]
fn generated_secrets_differ() {
    assert_ne!(Secret::generate(), Secret::generate());
    assert!(Secret::generate().expose().len() >= 40);
}

/// A keyring that does not answer, like a desktop without a Secret Service.
struct NoKeyring;

impl SecretStore for NoKeyring {
    fn get(&self, _: &SecretName) -> Result<Option<Secret>, SecretError> {
        Err(SecretError::Keyring { cause: "no result found".into(), fallback: "/x/secrets.json".into() })
    }
    fn set(&self, n: &SecretName, _: &Secret) -> Result<(), SecretError> {
        self.get(n).map(|_| ())
    }
    fn delete(&self, n: &SecretName) -> Result<(), SecretError> {
        self.get(n).map(|_| ())
    }
}

/// A keyring that answers (values in memory).
#[derive(Default)]
struct FakeKeyring(MemorySecrets);

impl SecretStore for FakeKeyring {
    fn get(&self, n: &SecretName) -> Result<Option<Secret>, SecretError> {
        self.0.get(n)
    }
    fn set(&self, n: &SecretName, v: &Secret) -> Result<(), SecretError> {
        self.0.set(n, v)
    }
    fn delete(&self, n: &SecretName) -> Result<(), SecretError> {
        self.0.delete(n)
    }
    fn backend(&self) -> SecretBackend {
        SecretBackend { kind: SecretBackendKind::Keyring, path: None, reason: None }
    }
}

/// A Secret Service started on demand with no collection: reads answer "absent", writes fail.
struct ReadOnlyKeyring;

impl SecretStore for ReadOnlyKeyring {
    fn get(&self, _: &SecretName) -> Result<Option<Secret>, SecretError> {
        Ok(None)
    }
    fn set(&self, _: &SecretName, _: &Secret) -> Result<(), SecretError> {
        Err(SecretError::Keyring { cause: "no result found".into(), fallback: "/x/secrets.json".into() })
    }
    fn delete(&self, _: &SecretName) -> Result<(), SecretError> {
        Ok(())
    }
}

fn key(n: &str) -> SecretName {
    SecretName::StreamKey(format!("file-test-{n}"))
}

#[test]
fn the_file_store_round_trips_through_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join(SECRETS_FILE);
    let store = FileSecrets::new(&path);
    assert_eq!(store.get(&key("a")).unwrap(), None);
    store.delete(&key("a")).unwrap(); // nothing to delete, no file created
    assert!(!path.exists());
    store.set(&key("a"), &Secret::new("value-a")).unwrap();
    store.set(&key("b"), &Secret::new("value-b")).unwrap();
    // A second store object reads the file itself.
    let again = FileSecrets::new(&path);
    assert_eq!(again.get(&key("a")).unwrap().unwrap().expose(), "value-a");
    again.set(&key("a"), &Secret::new("value-a2")).unwrap();
    again.delete(&key("b")).unwrap();
    assert_eq!(store.get(&key("a")).unwrap().unwrap().expose(), "value-a2");
    assert_eq!(store.get(&key("b")).unwrap(), None);
    let backend = store.backend();
    assert_eq!(backend.kind, SecretBackendKind::File);
    assert_eq!(backend.path.as_deref(), Some(path.display().to_string().as_str()));
}

#[cfg(unix)]
#[test]
fn the_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SECRETS_FILE);
    let store = FileSecrets::new(&path);
    let mode = || std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    store.set(&key("a"), &Secret::new("v")).unwrap();
    assert_eq!(mode(), 0o600);
    // A file someone loosened is replaced by a 0600 one at the next write.
    assert!(!store.readable_by_others());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(store.readable_by_others());
    store.set(&key("a"), &Secret::new("v2")).unwrap();
    assert_eq!(mode(), 0o600);
    assert!(!store.readable_by_others());
}

#[test]
fn writes_replace_the_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SECRETS_FILE);
    let store = FileSecrets::new(&path);
    store.set(&key("a"), &Secret::new("first")).unwrap();
    // A reader that opened the old file keeps reading the old file whole: the new one is renamed
    // over it, never written in place.
    let mut old = std::fs::File::open(&path).unwrap();
    store.set(&key("a"), &Secret::new("second")).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut old, &mut text).unwrap();
    assert!(text.contains("first") && !text.contains("second"), "{text}");
    assert_eq!(store.get(&key("a")).unwrap().unwrap().expose(), "second");
    // No temp files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from(SECRETS_FILE)]);
}

#[test]
fn a_damaged_file_is_an_error_naming_it_and_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SECRETS_FILE);
    std::fs::write(&path, "{\"version\": 1, \"secrets\": {\"stream-key:x\": ").unwrap();
    let store = FileSecrets::new(&path);
    let err = store.get(&key("a")).unwrap_err();
    assert!(matches!(err, SecretError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    assert!(store.set(&key("a"), &Secret::new("v")).is_err());
    assert!(store.delete(&key("a")).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"version\": 1, \"secrets\": {\"stream-key:x\": ");
    // Another format version is not guessed at either.
    std::fs::write(&path, "{\"version\": 2, \"secrets\": {}}").unwrap();
    assert!(matches!(store.set(&key("a"), &Secret::new("v")), Err(SecretError::Corrupt { .. })));
}

#[test]
fn without_a_keyring_secrets_go_to_the_file_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), NoKeyring);
    let backend = store.backend();
    assert_eq!(backend.kind, SecretBackendKind::File);
    assert_eq!(backend.path, Some(dir.path().join(SECRETS_FILE).display().to_string()));
    assert_eq!(backend.reason.as_deref(), Some("no result found"));
    let overlay = get_or_generate(&*store, &SecretName::OverlayKey);
    store.set(&key("tw"), &Secret::new("live_123")).unwrap();
    // The next start (a new store on the same folder) finds both.
    let next = open_with(dir.path(), NoKeyring);
    assert_eq!(get_or_generate(&*next, &SecretName::OverlayKey), overlay);
    assert_eq!(next.get(&key("tw")).unwrap().unwrap().expose(), "live_123");
}

#[test]
fn a_keyring_that_reads_but_cannot_write_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), ReadOnlyKeyring);
    assert_eq!(store.backend().kind, SecretBackendKind::File);
    store.set(&key("a"), &Secret::new("v")).unwrap();
    assert!(dir.path().join(SECRETS_FILE).exists());
}

#[test]
fn a_keyring_that_answers_stays_the_first_choice() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), FakeKeyring::default());
    assert_eq!(store.backend(), SecretBackend { kind: SecretBackendKind::Keyring, path: None, reason: None });
    store.set(&key("a"), &Secret::new("v")).unwrap();
    assert!(!dir.path().join(SECRETS_FILE).exists());
    assert_eq!(store.get(&SecretName::Probe).unwrap(), None, "the probe leaves nothing behind");
}

#[test]
fn a_keyring_that_appears_later_still_reads_the_file_and_takes_over_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let file = FileSecrets::new(dir.path().join(SECRETS_FILE));
    file.set(&key("old"), &Secret::new("from-file")).unwrap();
    file.set(&key("gone"), &Secret::new("x")).unwrap();
    let store = open_with(dir.path(), FakeKeyring::default());
    assert_eq!(store.backend().kind, SecretBackendKind::Keyring);
    assert_eq!(store.get(&key("old")).unwrap().unwrap().expose(), "from-file");
    store.set(&key("old"), &Secret::new("in-keyring")).unwrap();
    assert_eq!(store.get(&key("old")).unwrap().unwrap().expose(), "in-keyring");
    assert_eq!(file.get(&key("old")).unwrap(), None);
    store.delete(&key("gone")).unwrap();
    assert_eq!(store.get(&key("gone")).unwrap(), None);
}

#[test]
fn keyring_errors_name_the_way_out() {
    let e = SecretError::Keyring { cause: "no result found".into(), fallback: "/d/secrets.json".into() };
    let text = e.to_string();
    assert!(text.contains("/d/secrets.json") && text.contains("gnome-keyring"), "{text}");
}
