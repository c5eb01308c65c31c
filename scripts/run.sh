#!/usr/bin/env bash
# Runs the Streampai desktop app (release build, UI embedded). Installs the system packages and
# builds what is missing first.
#
# - STREAMPAI_CONFIG set, or Cloudflare already set up in the app's settings: runs the app for
#   real (your settings, your keyring).
# - Otherwise a demo that needs no cloud account: a local fake of Cloudflare Stream, the app
#   pointed at it with two demo platforms, in a throwaway data folder.
# - `scripts/run.sh --headless` runs the headless engine instead (the same demo without a window;
#   with STREAMPAI_CONFIG, your config).
set -euo pipefail
cd "$(dirname "$0")/.."
headless=false
[ "${1:-}" = "--headless" ] && headless=true

target=$(cargo metadata --format-version 1 --no-deps 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' || echo target)
if $headless; then
  scripts/deps.sh
  cargo build --release --bin streampai --bin fake-cloudflare
  app=()
else
  scripts/desktop-deps.sh
  npm --prefix ui ci --no-audit --no-fund --loglevel=error
  npm --prefix ui run build
  cargo build --release -p streampai-desktop -p fake-cloudflare -p streampai --features tauri/custom-protocol
  app=("$target/release/streampai-desktop")
fi

data_dir=${STREAMPAI_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/streampai}
configured() {
  python3 - "$data_dir/desktop-settings.json" <<'PY'
import json, sys
try:
    cf = json.load(open(sys.argv[1])).get("config", {}).get("cloudflare", {})
    sys.exit(0 if cf.get("account_id") else 1)
except Exception:
    sys.exit(1)
PY
}
if [ -n "${STREAMPAI_CONFIG:-}" ] || { ! $headless && configured; }; then
  if $headless; then exec "$target/release/streampai" headless; fi
  exec "${app[@]}"
fi

demo=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$demo"' EXIT
"$target/release/fake-cloudflare" --listen 127.0.0.1:0 --account-id demo-account --token demo-token >"$demo/fake.out" &
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
echo "Try: STREAMPAI_CONTROL_TOKEN=$STREAMPAI_CONTROL_TOKEN $target/release/streampai status"
root=${base%/client/v4}
cat >"$demo/obs.sh" <<SH
#!/usr/bin/env bash
# Pretend OBS is sending (on) or stopped (off): flips the fake live input.
uid=\$(curl -s $root/__fake/live_inputs | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["uid"])')
curl -s -X POST -H 'content-type: application/json' -d "{\\"connected\\": \$([ "\${1:-on}" = on ] && echo true || echo false)}" "$root/__fake/live_inputs/\$uid/connected"
SH
chmod +x "$demo/obs.sh"
echo "Pretend OBS is sending: $demo/obs.sh on   (and: $demo/obs.sh off)"
if $headless; then
  "$target/release/streampai" headless --config "$demo/streampai.toml"
else
  STREAMPAI_CONFIG="$demo/streampai.toml" STREAMPAI_DATA_DIR="$demo/data" "${app[@]}"
fi
