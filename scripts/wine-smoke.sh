#!/usr/bin/env bash
# The Windows engine under Wine, as a smoke test of the Windows build (tests/wine_smoke.rs):
# cross-builds `streampai.exe` (x86_64-pc-windows-gnu), puts the test-only
# `bcryptprimitives.dll` shim next to it (Debian 12's Wine 8 lacks ProcessPrng, which Rust's
# standard library imports; a real Windows has it), and runs the engine headless under wine64:
# control API, a WebSocket presence session, ffmpeg → the local ingest → nginx-rtmp, Ctrl-C stop;
# and a clean stop at the session's end (wineboot --end-session → the hidden window's WM_ENDSESSION).
# Installs what a fresh Debian 12 lacks (the Windows target, MinGW, wine64, the relay's peers).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
scripts/windows-deps.sh
scripts/relay-deps.sh
WINE=/usr/lib/wine/wine64
if [ ! -x "$WINE" ]; then
  echo "wine-smoke: installing wine64"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wine64 >/dev/null
fi
cargo build --target x86_64-pc-windows-gnu --bin streampai
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exe_dir="$target/x86_64-pc-windows-gnu/debug"
x86_64-w64-mingw32-gcc -shared -O2 -o "$exe_dir/bcryptprimitives.dll" scripts/windows/bcryptprimitives.c -ladvapi32
STREAMPAI_WINDOWS_EXE="$exe_dir/streampai.exe" WINE="$WINE" \
  cargo test --test wine_smoke -- --ignored
