#!/usr/bin/env bash
# The Windows installer under Wine (tests/wine_installer.rs): builds the desktop app for Windows
# and both installers with scripts/build-windows.sh (dev profile: the same installer script and
# app, unoptimised, zlib-compressed, so CI need not spend a release build's time), builds the test-only stand-in
# for Microsoft's WebView2 bootstrapper with MinGW, and runs the installers silently in a
# throwaway Wine prefix. Installs what a fresh Debian 12 lacks (MinGW, nsis, wine64).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
WINE=/usr/lib/wine/wine64
if [ ! -x "$WINE" ]; then
  echo "wine-installer: installing wine64"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wine64 >/dev/null
fi
scripts/build-windows.sh --installer --both --profile dev --zlib
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
version=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "streampai"))')
fake="$target/windows/fake-webview2/MicrosoftEdgeWebview2Setup.exe"
mkdir -p "$(dirname "$fake")"
x86_64-w64-mingw32-gcc -municode -mwindows -O2 -o "$fake" tests/windows/fake_webview2_setup.c
STREAMPAI_WINDOWS_SETUP="$target/windows/streampai-desktop_${version}_x64-setup.exe" \
STREAMPAI_WINDOWS_SETUP_ALLUSERS="$target/windows/streampai-desktop_${version}_x64-allusers-setup.exe" \
STREAMPAI_WINDOWS_STAGE="$target/windows/stage" \
STREAMPAI_FAKE_WEBVIEW2="$fake" WINE="$WINE" WINESERVER=/usr/lib/wine/wineserver \
  cargo test --test wine_installer -- --ignored
