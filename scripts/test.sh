#!/usr/bin/env bash
# Runs every test of the project (installs what a fresh Debian/Ubuntu machine lacks first).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# Real RTMP peers for the relay's end-to-end tests and benchmark (ffmpeg, nginx-rtmp, openssl).
scripts/relay-deps.sh
export CARGO_TERM_COLOR=never
cargo fmt --all -- --check
cargo build --workspace --all-targets
cargo test --workspace
# The benchmark must keep compiling and running; a short run proves it (figures: docs/PERFORMANCE.md).
STREAMPAI_BENCH_ROUNDS=3 cargo bench --profile dev --bench start_stream
STREAMPAI_RELAY_BENCH_SECS=5 cargo bench --profile dev --bench relay
