#!/usr/bin/env bash
# Builds Streampai for Windows x64 on this Linux machine (cross, x86_64-pc-windows-gnu, MinGW):
#
#   target/windows/streampai-desktop_<version>_x64-setup.exe   the desktop app's installer (NSIS):
#       per-user, no admin prompt: %LOCALAPPDATA%\Programs\Streampai, Start menu shortcut,
#       Apps & features entry with an uninstaller, WebView2 fetched at install time if missing
#   target/windows/streampai-desktop_<version>_x64-allusers-setup.exe   (--per-machine) the same
#       for all users: Program Files, HKLM, needs an administrator
#   target/windows/streampai-<version>-windows-x64.zip         the headless engine for servers
#
# Usage: scripts/build-windows.sh [--installer | --zip] [--per-machine | --both] [--profile NAME]
#                                 [--zlib]
#   --installer / --zip   only the installer / only the zip (default: both)
#   --per-machine         the installer for all users instead of the per-user one
#   --both                both installers
#   --profile NAME        cargo profile (default: release). The installer test uses `dev`: the
#                         same app with the UI embedded, unoptimised (and with a console window)
#   --zlib                compress the installer with zlib instead of solid LZMA: larger, but
#                         ~7x faster to build (the installer test: 14 s instead of 108 s here)
#
# The installer is our own NSIS script (scripts/windows/installer.nsi) run by Debian's makensis,
# not Tauri's NSIS bundler: that bundler always fetches its nsis_tauri_utils plugin from GitHub
# (checked against the upstream binary's SHA-1), which this machine cannot reach; see README.
# The desktop shell is built like `tauri build` builds it: the UI first (ui/dist, embedded),
# then cargo with `tauri/custom-protocol`. On the GNU target the app loads WebView2Loader.dll
# (webview2-com links it dynamically there; tauri-build copies it next to the .exe), so the
# installer ships it beside streampai-desktop.exe.
set -euo pipefail
cd "$(dirname "$0")/.."
want_installer=1 want_zip=1 kinds=(user) profile=release compress=()
while [ $# -gt 0 ]; do
  case "$1" in
    --installer) want_zip=0 ;;
    --zip) want_installer=0 ;;
    --per-machine) kinds=(allusers) ;;
    --both) kinds=(user allusers) ;;
    --profile) profile="$2"; shift ;;
    --zlib) compress=(-DCOMPRESSOR=zlib) ;;
    *) echo "build-windows: unknown option $1 (see the script's header)" >&2; exit 2 ;;
  esac
  shift
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
TARGET=x86_64-pc-windows-gnu
scripts/windows-deps.sh
meta=$(cargo metadata --format-version 1 --no-deps)
target=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' <<<"$meta")
version=$(python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "streampai"))' <<<"$meta")
outdir="$target/$TARGET/$([ "$profile" = dev ] && echo debug || echo "$profile")"
mkdir -p "$target/windows"

if [ "$want_zip" = 1 ]; then
  cargo build --profile "$profile" --target $TARGET --bin streampai
  zip="$target/windows/streampai-$version-windows-x64.zip"
  python3 - "$outdir/streampai.exe" "$zip" "$version" <<'PY'
import sys, zipfile
exe, out, version = sys.argv[1:]
readme = f"""Streampai {version}, headless engine for Windows (x64)

  streampai.exe headless --config streampai.toml   run the engine and its control API
  streampai.exe status | start | stop | debug       talk to a running engine

Settings: see the project's README (the same TOML and STREAMPAI_* variables as on Linux).
Data folder: %APPDATA%\\streampai (streampai.db, state.json). Secrets: Windows Credential
Manager (service "streampai"), or STREAMPAI_* environment variables.
OBS on the same PC streams to rtmp://127.0.0.1:1935/live with the ingest key.
Ctrl-C, closing the console window, logging off and shutting down all stop it cleanly.
"""
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(exe, "streampai.exe")
    z.writestr("README.txt", readme.replace("\n", "\r\n"))
PY
  ls -l "$zip"
fi

if [ "$want_installer" = 1 ]; then
  if ! command -v makensis >/dev/null; then
    echo "build-windows: installing nsis"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nsis >/dev/null
  fi
  if ! command -v npm >/dev/null; then
    echo "build-windows: installing nodejs and npm"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  [ -d ui/node_modules ] || npm --prefix ui ci --no-audit --no-fund --loglevel=error
  npm --prefix ui run build --silent
  cargo build --profile "$profile" --target $TARGET -p streampai-desktop --features tauri/custom-protocol
  # Windows wants four numeric parts: 1.2.3-beta.1 → 1.2.3.0.
  version4="$(sed -E 's/^([0-9]+)\.([0-9]+)\.([0-9]+).*/\1.\2.\3.0/' <<<"$version")"
  for kind in "${kinds[@]}"; do
    defines=()
    if [ "$kind" = allusers ]; then
      setup="$target/windows/streampai-desktop_${version}_x64-allusers-setup.exe"
      defines+=(-DPERMACHINE)
    else
      setup="$target/windows/streampai-desktop_${version}_x64-setup.exe"
    fi
    stage="$target/windows/stage"
    rm -rf "$stage" && mkdir -p "$stage"
    cp "$outdir/streampai-desktop.exe" "$stage/"
    if [ -f "$outdir/WebView2Loader.dll" ]; then
      cp "$outdir/WebView2Loader.dll" "$stage/"
      defines+=(-DWEBVIEW2LOADER)
    fi
    makensis -V2 -INPUTCHARSET UTF8 "-DVERSION=$version" "-DVERSION4=$version4" "-DSTAGE=$stage" \
      "-DOUTFILE=$setup" "-DICON=$PWD/icons/icon.ico" "${compress[@]}" "${defines[@]}" scripts/windows/installer.nsi
    ls -l "$setup"
  done
fi
