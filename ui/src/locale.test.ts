import { describe, expect, it } from "vitest";
import { usableLanguage } from "./locale";

describe("usableLanguage", () => {
  it("keeps tags Intl accepts", () => {
    expect(usableLanguage("de-DE")).toBe("de-DE");
    expect(usableLanguage("en")).toBe("en");
  });
  it("turns POSIX locales into tags, and C into en-US", () => {
    expect(() => new Intl.NumberFormat("C")).toThrow(RangeError); // what broke uPlot
    expect(usableLanguage("C")).toBe("en-US");
    expect(usableLanguage("POSIX")).toBe("en-US");
    expect(usableLanguage("fr_FR.UTF-8")).toBe("fr-FR");
    expect(usableLanguage("")).toBe("en-US");
    expect(usableLanguage(undefined)).toBe("en-US");
  });
});
