#!/usr/bin/env bash
# Runs every test of the project (installs what a fresh Debian/Ubuntu machine lacks first).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# Real RTMP peers for the relay's end-to-end tests and benchmark (ffmpeg, nginx-rtmp, openssl).
scripts/relay-deps.sh
# Real OBS Studio (headless, Xvfb + software GL) for the OBS tests (tests/obs_*.rs).
scripts/obs-deps.sh
# A real redis-server for the sync server's Redis-mode tests.
scripts/sync-deps.sh
export CARGO_TERM_COLOR=never
cargo fmt --all -- --check
# Lints as errors for every crate but the desktop shell (scripts/test-desktop.sh lints that one).
cargo clippy --workspace --exclude streampai-desktop --all-targets -- -D warnings
# The desktop app builds the engine library alone: no CLI or sync-server crates (clap, redis).
if cargo tree -p streampai-desktop -e normal --prefix none | grep -E '^(clap|redis) '; then
  echo "test.sh: streampai-desktop depends on CLI/sync-server crates (see the engine's \`cli\` feature)" >&2
  exit 1
fi
# Windows, where most streamers are: every crate and target must type-check for it (the
# desktop shell included), so no change breaks the Windows build unnoticed.
scripts/windows-deps.sh
cargo check --workspace --all-targets --target x86_64-pc-windows-gnu
# ... and the cross-built engine runs: under Wine, control API, presence, relay (scripts/wine-smoke.sh).
scripts/wine-smoke.sh
# ... and the desktop app's installer: cross-built (dev profile), installed, reinstalled and
# uninstalled silently under Wine (scripts/wine-installer.sh).
scripts/wine-installer.sh
# The desktop shell needs GTK/WebKit: scripts/test-desktop.sh builds and tests it.
cargo build --workspace --exclude streampai-desktop --all-targets
cargo test --workspace --exclude streampai-desktop
# The benchmark must keep compiling and running; a short run proves it (figures: docs/PERFORMANCE.md).
STREAMPAI_BENCH_ROUNDS=3 cargo bench --profile dev --bench start_stream
STREAMPAI_BENCH_ALERTS=300 cargo bench --profile dev --bench alerts
STREAMPAI_RELAY_BENCH_SECS=5 cargo bench --profile dev --bench relay
# The sync server's load tool (100 users x 10 devices here; 1,000 x 10 for the figures). No `-p`:
# with it the sync crate alone resolves other features and rebuilds ~40 crates.
STREAMPAI_SYNC_LOAD_USERS=100 cargo bench --profile dev --bench load
# The desktop app: UI unit tests, shell tests, bindings check, real keyring, end-to-end in real windows.
scripts/test-desktop.sh
