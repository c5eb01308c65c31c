#!/usr/bin/env bash
# Builds the .deb package: the Tauri CLI (from ui/node_modules) runs the UI build and a release
# build of streampai-desktop, then bundles target/release/bundle/deb/Streampai_<version>_amd64.deb.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/desktop-deps.sh
npm --prefix ui ci --no-audit --no-fund --loglevel=error
# tauri.conf.json is at the root; the app is the streampai-desktop package of the workspace.
exec ui/node_modules/.bin/tauri build --bundles deb -- -p streampai-desktop
