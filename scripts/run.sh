#!/usr/bin/env bash
# Runs Streampai headless. With STREAMPAI_CONFIG set, it runs your config against the real
# Cloudflare API. Without it, it starts a demo: a local fake of Cloudflare Stream and an engine
# pointed at it, with two demo platforms, so everything works with no cloud account.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --release --bin streampai --bin fake-cloudflare
if [ -n "${STREAMPAI_CONFIG:-}" ]; then
  exec target/release/streampai headless
fi
demo=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$demo"' EXIT
target/release/fake-cloudflare --listen 127.0.0.1:0 --account-id demo-account --token demo-token >"$demo/fake.out" &
for _ in $(seq 100); do grep -q FAKE_CLOUDFLARE_BASE "$demo/fake.out" && break; sleep 0.1; done
base=$(sed -n 's/^FAKE_CLOUDFLARE_BASE=//p' "$demo/fake.out")
cat >"$demo/streampai.toml" <<TOML
user_id = "demo-user"
[control]
listen = "127.0.0.1:4850"
[cloudflare]
account_id = "demo-account"
api_base = "$base"
poll_interval_ms = 2000
[storage]
dir = "$demo/data"
[[platforms]]
name = "twitch-main"
kind = "twitch"
[[platforms]]
name = "youtube-main"
kind = "youtube"
TOML
export STREAMPAI_CLOUDFLARE_API_TOKEN=demo-token
export STREAMPAI_STREAM_KEY_TWITCH_MAIN=demo-twitch-key
export STREAMPAI_STREAM_KEY_YOUTUBE_MAIN=demo-youtube-key
export STREAMPAI_CONTROL_TOKEN=${STREAMPAI_CONTROL_TOKEN:-demo-control-token}
echo "Demo: fake Cloudflare at $base; control token: $STREAMPAI_CONTROL_TOKEN"
echo "Try: STREAMPAI_CONTROL_TOKEN=$STREAMPAI_CONTROL_TOKEN target/release/streampai status"
target/release/streampai headless --config "$demo/streampai.toml"
