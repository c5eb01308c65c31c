import { describe, expect, it } from "vitest";
import {
  connectionProblemWords,
  elapsedSince,
  errorField,
  errorWords,
  formatBitrate,
  formatBytes,
  formatElapsed,
  inputWords,
  phaseWords,
  platformWords,
} from "./format";

describe("formatElapsed", () => {
  it("pads hours, minutes and seconds", () => {
    expect(formatElapsed(0)).toBe("00:00:00");
    expect(formatElapsed(12 * 60 + 34)).toBe("00:12:34");
    expect(formatElapsed(3600 * 27 + 5)).toBe("27:00:05");
  });
  it("never goes negative or fractional", () => {
    expect(formatElapsed(-3)).toBe("00:00:00");
    expect(formatElapsed(59.9)).toBe("00:00:59");
  });
  it("measures from an ISO start time", () => {
    const start = "2026-01-01T10:00:00Z";
    expect(elapsedSince(start, Date.parse("2026-01-01T10:00:30Z"))).toBe(30);
    expect(elapsedSince(null, Date.now())).toBe(0);
    expect(elapsedSince("garbage", Date.now())).toBe(0);
  });
});

describe("words", () => {
  it("says what OBS is doing", () => {
    expect(inputWords("no_traffic")).toBe("Waiting for OBS…");
    expect(inputWords("receiving_traffic")).toBe("Receiving from OBS");
    expect(inputWords("unknown")).toBe("Checking for OBS…");
  });
  it("describes platform statuses and their problems", () => {
    const reason = { kind: "timeout", source: "platform", detail: "x" } as const;
    expect(platformWords({ status: "retrying", reason, attempt: 3 })).toBe("retrying (attempt 3)");
    expect(platformWords({ status: "stopped" })).toBe("ready");
    expect(platformWords({ status: "live" })).toBe("live");
    expect(phaseWords("offline")).toBe("offline");
  });
  it("tells connection problems apart", () => {
    expect(connectionProblemWords({ kind: "BadToken" })).toMatch(/^Bad token/);
    expect(connectionProblemWords({ kind: "WrongAccount" })).toMatch(/^Wrong account/);
    expect(connectionProblemWords({ kind: "NoStreamPermission" })).toMatch(/Stream permission/);
    expect(connectionProblemWords({ kind: "Unreachable", detail: "dns" })).toBe("Cloudflare is unreachable: dns");
  });
  it("puts typed errors in words and names the field", () => {
    const notConfigured = { kind: "engine", error: { kind: "not_configured", message: "x" } } as const;
    expect(errorWords(notConfigured)).toMatch(/Settings/);
    const invalid = { kind: "invalid", field: "url", message: "must start with rtmp://" } as const;
    expect(errorWords(invalid)).toBe("Must start with rtmp://.");
    expect(errorField(invalid)).toBe("url");
    expect(errorField(notConfigured)).toBeNull();
    expect(errorWords({ kind: "cloudflare", problem: { kind: "BadToken" } })).toMatch(/Bad token/);
  });
  it("shows OBS's refusals in the engine's own sentences", () => {
    const streaming = { kind: "engine", error: { kind: "obs_streaming", message: "OBS is streaming: stop OBS's stream first, then try again" } } as const;
    expect(errorWords(streaming)).toBe("OBS is streaming: stop OBS's stream first, then try again.");
    const down = { kind: "engine", error: { kind: "obs_unavailable", message: "not connected to OBS: OBS refused the password" } } as const;
    expect(errorWords(down)).toBe("Not connected to OBS: OBS refused the password.");
    expect(errorWords({ kind: "engine", error: { kind: "obs", message: "OBS refused SetStreamServiceSettings" } })).toMatch(/^OBS refused/);
  });
  it("shows the secret store's sentences as they come (no added or doubled prefix)", () => {
    const keyring =
      "The system keyring is not available (no result found). Unlock it, or install one (gnome-keyring, " +
      "KWallet); when Streampai starts without a keyring it keeps secrets in /d/secrets.json instead " +
      "(readable by your user account only)";
    expect(errorWords({ kind: "keyring", message: keyring })).toBe(`${keyring}.`);
    const file = "cannot use the secrets file /d/secrets.json: permission denied";
    expect(errorWords({ kind: "keyring", message: file })).toBe(
      "Cannot use the secrets file /d/secrets.json: permission denied.",
    );
    expect(errorWords({ kind: "engine", error: { kind: "secrets", message: file } })).not.toMatch(/keyring/);
  });
});

describe("units", () => {
  it("shows bitrates in kbit/s and Mbit/s", () => {
    expect(formatBitrate(4200)).toBe("4.2 Mbit/s");
    expect(formatBitrate(850)).toBe("850 kbit/s");
    expect(formatBitrate(999.6)).toBe("1000 kbit/s");
    expect(formatBitrate(12_600)).toBe("12.6 Mbit/s");
    expect(formatBitrate(0)).toBe("0 kbit/s");
    expect(formatBitrate(null)).toBe("—");
  });
  it("shows byte counts in decimal units", () => {
    expect(formatBytes(1_300_000_000)).toBe("1.3 GB");
    expect(formatBytes(3_400_000)).toBe("3.4 MB");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1000)).toBe("1.0 kB");
    expect(formatBytes(2_500_000_000_000)).toBe("2.5 TB");
    expect(formatBytes(null)).toBe("—");
  });
});
