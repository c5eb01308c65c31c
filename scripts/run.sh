#!/usr/bin/env bash
# Runs the Streampai desktop app (release build, UI embedded). Installs the system packages and
# builds what is missing first.
#
# - `scripts/run.sh`: the app for real (your settings, your keyring, your data folder). With no
#   Cloudflare account it uses the local RTMP ingest: add a platform key, point OBS at the address
#   the app shows, press Start. STREAMPAI_CONFIG seeds the settings from a config file.
# - `scripts/run.sh --demo`: a throwaway demo: a local fake of Cloudflare Stream, the app pointed
#   at it with two demo platforms, in a temporary data folder, plus a script that pretends OBS is
#   sending.
# - `--headless` (alone or with `--demo`) runs the headless engine instead of the window.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: scripts/run.sh [--demo] [--headless]   (see the comment at the top of this script)" >&2; }
headless=false
demo_mode=false
for arg in "$@"; do
  case "$arg" in
    --headless) headless=true ;;
    --demo) demo_mode=true ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $arg" >&2; usage; exit 2 ;;
  esac
done
# Everything that can be checked is checked before installing and building (minutes).
if $headless && ! $demo_mode; then
  if [ -z "${STREAMPAI_CONFIG:-}" ]; then
    echo "run.sh --headless needs STREAMPAI_CONFIG=/path/to/streampai.toml (see the README), or --demo" >&2
    exit 2
  fi
  if [ ! -r "$STREAMPAI_CONFIG" ]; then
    echo "run.sh --headless: cannot read STREAMPAI_CONFIG=$STREAMPAI_CONFIG" >&2
    exit 2
  fi
fi

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

if ! $demo_mode; then
  if $headless; then
    exec "$target/release/streampai" headless
  fi
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
