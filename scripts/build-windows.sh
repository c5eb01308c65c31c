#!/usr/bin/env bash
# Builds the headless Windows engine on this Linux machine (cross, x86_64-pc-windows-gnu) and
# packs it as a plain zip for servers: target/windows/streampai-<version>-windows-x64.zip with
# `streampai.exe` and a short README. (The desktop installer, Tauri's NSIS bundle, is not built
# here yet: the bundler fetches its NSIS plugin from the network.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/windows-deps.sh
cargo build --release --target x86_64-pc-windows-gnu --bin streampai
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
version=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "streampai"))')
out="$target/windows/streampai-$version-windows-x64.zip"
mkdir -p "$target/windows"
python3 - "$target/x86_64-pc-windows-gnu/release/streampai.exe" "$out" "$version" <<'PY'
import sys, zipfile
exe, out, version = sys.argv[1:]
readme = f"""Streampai {version}, headless engine for Windows (x64)

  streampai.exe headless --config streampai.toml   run the engine and its control API
  streampai.exe status | start | stop | debug       talk to a running engine

Settings: see the project's README (the same TOML and STREAMPAI_* variables as on Linux).
Data folder: %APPDATA%\\streampai (streampai.db, state.json). Secrets: Windows Credential
Manager (service "streampai"), or STREAMPAI_* environment variables.
OBS on the same PC streams to rtmp://127.0.0.1:1935/live with the ingest key.
"""
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(exe, "streampai.exe")
    z.writestr("README.txt", readme.replace("\n", "\r\n"))
PY
ls -l "$out"
