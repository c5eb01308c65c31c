//! Where secrets are kept in this run: the OS keyring, or the secrets file when the keyring did
//! not answer at start (Settings shows it with what it means).

use streampai::secrets::SecretBackend;

use super::Sh;
use crate::error::UiResult;

/// `kind`: `keyring`, `file` (then `path` is the file, readable by the user account only, and
/// `reason` why the keyring is not used) or `memory` (env vars only: nothing survives a restart).
#[tauri::command]
#[specta::specta]
pub async fn get_secret_backend(shell: Sh<'_>) -> UiResult<SecretBackend> {
    Ok(shell.secrets().backend())
}
