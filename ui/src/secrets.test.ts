import { describe, expect, it, vi } from "vitest";
import type { SecretBackend } from "./bindings";

const shell = vi.hoisted(() => ({
  getSecretBackend: vi.fn(
    async (): Promise<{ status: "ok"; data: SecretBackend }> => ({
      status: "ok",
      data: { kind: "file", path: "/home/me/.local/share/streampai/secrets.json", reason: "no result found" },
    }),
  ),
}));
vi.mock("./bindings", () => ({ commands: shell }));

import { keptHint, secretBackend, secretsWords, storeName } from "./secrets";

describe("where secrets live", () => {
  it("says the keyring in one sentence", () => {
    expect(secretsWords({ kind: "keyring", path: null, reason: null })).toBe("Secrets are kept in the system keyring.");
  });
  it("says why there is a file, where it is, what it means and the way out", async () => {
    const b = await secretBackend();
    expect(secretsWords(b)).toBe(
      "No system keyring answered (no result found). Secrets are kept in /home/me/.local/share/streampai/secrets.json, " +
        "readable by your user account only (not encrypted). Install or unlock a keyring (GNOME Keyring, KWallet) to use it instead.",
    );
    expect(storeName(b)).toBe("the secrets file");
    expect(keptHint(b)).toBe("stored in the secrets file — leave empty to keep");
    expect(keptHint(null)).toBe("stored in the keyring — leave empty to keep");
    await secretBackend();
    expect(shell.getSecretBackend).toHaveBeenCalledTimes(1);
  });
  it("warns when nothing survives a restart", () => {
    expect(secretsWords({ kind: "memory", path: null, reason: null })).toMatch(/survives a restart/);
    expect(storeName(null)).toBe("the system keyring");
  });
});
