#!/usr/bin/env bash
# Memory of the release desktop app at idle: starts it under Xvfb (fresh settings, the demo fake
# Cloudflare, two platforms, dashboard open), waits until it is idle, then prints the summed PSS
# (/proc/<pid>/smaps_rollup: shared pages split between sharers, so libraries count once) and
# the summed RSS of the app and its WebKit processes. Target: under 150 MiB PSS.
# Usage: scripts/bench-memory.sh [idle seconds, default 15]
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
scripts/desktop-deps.sh --test
if [ ! -x "$target/release/streampai-desktop" ] || [ "${BENCH_REBUILD:-0}" = 1 ]; then
  npm --prefix ui ci --no-audit --no-fund --loglevel=error
  npm --prefix ui run build
  cargo build --release -p streampai-desktop -p fake-cloudflare --features tauri/custom-protocol
fi
[ -x "$target/release/fake-cloudflare" ] || cargo build --release -p fake-cloudflare
exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- e2e/session.sh \
  python3 scripts/bench_memory.py "$target/release/streampai-desktop" "$target/release/fake-cloudflare" "${1:-15}"
