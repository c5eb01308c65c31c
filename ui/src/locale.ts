// uPlot formats numbers with `new Intl.NumberFormat(navigator.language)` as it loads. WebKitGTK
// passes the POSIX locale through ("C" under LANG=C, as in the e2e sessions), which Intl rejects
// with a RangeError, and the whole UI bundle then fails to start. This module is imported right
// before uPlot and gives `navigator.language` a tag Intl accepts.

/** `lang` if Intl accepts it; else its POSIX form made a BCP 47 tag ("en_US.UTF-8" → "en-US");
 * else "en-US". */
export function usableLanguage(lang: string | undefined | null): string {
  const ok = (tag: string) => {
    if (!tag || /^(C|POSIX)$/i.test(tag)) return false; // POSIX names, not languages
    try {
      return !!new Intl.NumberFormat(tag);
    } catch {
      return false;
    }
  };
  if (lang && ok(lang)) return lang;
  const posix = (lang ?? "").split(/[.@]/)[0].replace(/_/g, "-");
  return ok(posix) ? posix : "en-US";
}

if (typeof navigator !== "undefined") {
  const fixed = usableLanguage(navigator.language);
  if (fixed !== navigator.language) {
    try {
      Object.defineProperty(navigator, "language", { value: fixed, configurable: true });
    } catch {
      // Nothing more to do: uPlot will fail to load and the chart says so.
    }
  }
}
