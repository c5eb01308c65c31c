/* Test-only stand-in for Microsoft's WebView2 bootstrapper (MicrosoftEdgeWebview2Setup.exe), for
 * the installer test under Wine (tests/wine_installer.rs): served over loopback HTTP to the
 * installer, which downloads and runs it like the real one. It appends its command line to the
 * file named by STREAMPAI_FAKE_WEBVIEW2_LOG and registers the runtime for the user the way the
 * real runtime does (EdgeUpdate client key, "pv" value), so a second install sees WebView2. */
#include <windows.h>
#include <stdio.h>

int WINAPI wWinMain(HINSTANCE inst, HINSTANCE prev, LPWSTR cmdline, int show) {
    wchar_t log[MAX_PATH];
    (void)inst; (void)prev; (void)show;
    if (GetEnvironmentVariableW(L"STREAMPAI_FAKE_WEBVIEW2_LOG", log, MAX_PATH)) {
        FILE *f = _wfopen(log, L"a");
        if (!f) return 3;
        fwprintf(f, L"%ls\n", GetCommandLineW());
        fclose(f);
    }
    HKEY key;
    const wchar_t *path =
        L"Software\\Microsoft\\EdgeUpdate\\Clients\\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}";
    if (RegCreateKeyExW(HKEY_CURRENT_USER, path, 0, NULL, 0, KEY_WRITE, NULL, &key, NULL)) return 4;
    const wchar_t pv[] = L"120.0.0.1";
    LONG rc = RegSetValueExW(key, L"pv", 0, REG_SZ, (const BYTE *)pv, sizeof pv);
    RegCloseKey(key);
    return rc ? 5 : 0;
}
