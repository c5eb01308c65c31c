#!/usr/bin/env bash
# Every desktop test: UI unit tests (Vitest), the UI build, the shell tests on Tauri's mock
# runtime (bindings freshness included), the real keyring test, and the end-to-end tests in real
# windows (tauri-driver + WebKitWebDriver under Xvfb, D-Bus and an unlocked gnome-keyring; one
# session with no keyring, where the app keeps secrets in its secrets file). Screenshots go to
# <target>/screenshots (ignored); scripts/refresh-screenshots.sh copies them into docs/.
# Installs what a fresh Debian 12 machine lacks: apt packages (incl. ffmpeg + nginx-rtmp for the
# local relay e2e test, OBS Studio for the OBS shell and e2e tests, Chromium for the overlay in
# the accounts e2e test), npm packages, tauri-driver, selenium + pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
scripts/desktop-deps.sh --test
scripts/deps.sh        # headless Chromium + chromedriver for the overlay in the accounts e2e test
scripts/relay-deps.sh  # ffmpeg + nginx-rtmp for the local relay e2e test
scripts/obs-deps.sh    # real OBS Studio (headless) for the OBS shell test and e2e test

echo "== UI: install, unit tests, build"
npm --prefix ui ci --no-audit --no-fund --loglevel=error
npm --prefix ui test
npm --prefix ui run build

echo "== shell: unit tests on the mock runtime, bindings check"
cargo test -p streampai-desktop

command -v tauri-driver >/dev/null || [ -x "$HOME/.cargo/bin/tauri-driver" ] || cargo install tauri-driver --locked
python3 -c "import selenium, pytest" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check selenium pytest
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export PATH="$PATH:$HOME/.cargo/bin"

session() { xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- e2e/session.sh "$@"; }

echo "== keyring: the real Secret Service (gnome-keyring)"
session cargo test -p streampai-desktop --test keyring -- --include-ignored

echo "== end-to-end: build the app (assets embedded), the fakes (Cloudflare, Twitch + YouTube) and the engine binary (sync server)"
# `cargo test` rebuilds target/debug/streampai-desktop without the embedded UI: keep a copy.
cargo build -p streampai-desktop --features tauri/custom-protocol
cargo build -p fake-cloudflare
cargo build -p fake-platforms  # the fake Twitch and YouTube for the accounts e2e test
cargo build -p streampai --bin streampai  # `streampai sync-server` for the sync e2e test
mkdir -p "$target/e2e"
cp "$target/debug/streampai-desktop" "$target/e2e/streampai-desktop"
export STREAMPAI_DESKTOP_BIN="$target/e2e/streampai-desktop" FAKE_CLOUDFLARE_BIN="$target/debug/fake-cloudflare"
export STREAMPAI_BIN="$target/debug/streampai" FAKE_PLATFORMS_BIN="$target/debug/fake-platforms"
export STREAMPAI_SCREENSHOTS="$target/screenshots"

echo "== end-to-end tests: real windows (incl. Settings › Sync against a real sync server + a phone client)"
session python3 -m pytest -q -p no:cacheprovider e2e/test_desktop.py
echo "== end-to-end tests: the real tray (own session: one app instance per D-Bus session)"
session python3 -m pytest -q -p no:cacheprovider e2e/test_tray.py
echo "== end-to-end tests: the local relay (ffmpeg → the app's ingest → nginx-rtmp), own session"
session python3 -m pytest -q -p no:cacheprovider e2e/test_relay.py
echo "== end-to-end tests: OBS, connected (a real headless OBS on its own Xvfb → the app's ingest → two nginx-rtmp), own session"
session python3 -m pytest -q -p no:cacheprovider e2e/test_obs.py
echo "== end-to-end tests: platform accounts (sign in with the fake Twitch and the fake YouTube, a raid, a follow and a Super Chat on the Alerts page and the overlay in headless Chromium, one title for both), own session"
session python3 -m pytest -q -p no:cacheprovider e2e/test_accounts.py
echo "== end-to-end tests: no keyring (plain session, no unlocked Secret Service): the secrets file"
session --no-keyring python3 -m pytest -q -p no:cacheprovider e2e/test_no_keyring.py
echo "Screenshots: $STREAMPAI_SCREENSHOTS (scripts/refresh-screenshots.sh copies them into docs/screenshots/)"
