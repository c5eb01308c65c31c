#!/usr/bin/env bash
# Builds the .deb package with the Tauri CLI (from ui/node_modules): the UI build, a release
# build of streampai-desktop (UI embedded), then target/release/bundle/deb/Streampai_<v>_amd64.deb.
#
# The one tauri.conf.json lives at the repository root, whose Cargo.toml is the engine crate; the
# CLI wants the app's crate next to its config. So the CLI gets a copy of the config in
# src-tauri/ (paths rebased, removed afterwards), and the app crate builds from the root config
# as always (src-tauri/build.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/desktop-deps.sh
npm --prefix ui ci --no-audit --no-fund --loglevel=error
generated=src-tauri/tauri.conf.json
trap 'rm -f "$generated"' EXIT
python3 - "$generated" <<'PY'
import json, sys
conf = json.load(open("tauri.conf.json"))
conf["build"]["frontendDist"] = "../" + conf["build"]["frontendDist"]
conf["bundle"]["icon"] = ["../" + i for i in conf["bundle"]["icon"]]
json.dump(conf, open(sys.argv[1], "w"), indent=2)
PY
TAURI_APP_PATH=src-tauri TAURI_FRONTEND_PATH=ui ui/node_modules/.bin/tauri build --bundles deb
ls -l "$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"/release/bundle/deb/*.deb
