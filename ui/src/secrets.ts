// Where this run keeps secrets (`get_secret_backend`), in words for Settings and for the places
// that say where a key or token went.
import { call, commands } from "./api";
import type { SecretBackend } from "./bindings";

/** The sentence Settings shows about the secret store. */
export function secretsWords(b: SecretBackend): string {
  switch (b.kind) {
    case "keyring":
      return b.path
        ? `Secrets are kept in the system keyring. Values saved earlier in ${b.path} are still read (and move to the keyring when changed).`
        : "Secrets are kept in the system keyring.";
    case "file": {
      const why = b.reason ? `No system keyring answered (${b.reason.trim().replace(/\.$/, "")}).` : "No system keyring answered.";
      return (
        `${why} Secrets are kept in ${b.path ?? "the secrets file in the data folder"}, readable by your user account ` +
        "only (not encrypted). Install or unlock a keyring (GNOME Keyring, KWallet) to use it instead."
      );
    }
    case "memory":
      return "Secrets come from environment variables and memory only: nothing entered here survives a restart.";
  }
}

/** Where a stored key or token is, for a field's hint: "the system keyring", "the secrets file". */
export function storeName(b: SecretBackend | null): string {
  if (b?.kind === "file") return "the secrets file";
  if (b?.kind === "memory") return "memory (until the app quits)";
  return "the system keyring";
}

/** The hint in a key or token field whose value is stored: "stored in the keyring — leave empty to keep". */
export function keptHint(b: SecretBackend | null): string {
  return `stored in ${storeName(b).replace(/^the system /, "the ")} — leave empty to keep`;
}

let backend: Promise<SecretBackend> | null = null;

/** The secret store of this run (it does not change while the app runs), asked once per window. */
export function secretBackend(): Promise<SecretBackend> {
  backend ??= call(commands.getSecretBackend());
  backend.catch(() => (backend = null));
  return backend;
}
