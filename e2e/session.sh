#!/usr/bin/env bash
# Runs a command in a fresh desktop session for the end-to-end tests: temp HOME and XDG folders
# (empty settings, data, keyring) and an unlocked gnome-keyring (Secret Service) on the session
# bus. Use inside `xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- e2e/session.sh CMD`.
# `e2e/session.sh --no-keyring CMD`: no keyring is started (the session bus may start
# gnome-keyring on demand, which then has no collection to write to) — what a fresh Xvfb or a
# minimal window manager session looks like; the app must fall back to its secrets file.
set -euo pipefail
keyring=1
if [ "${1:-}" = "--no-keyring" ]; then keyring=0; shift; fi
root=$(mktemp -d)
# Keep the toolchain reachable once HOME moves.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export PATH="$PATH:$CARGO_HOME/bin"
export HOME="$root/home" XDG_DATA_HOME="$root/data" XDG_CONFIG_HOME="$root/config" XDG_CACHE_HOME="$root/cache"
export XDG_RUNTIME_DIR="$root/run"
mkdir -p "$HOME" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
if [ "$keyring" = 1 ]; then
  eval "$(printf 'e2e-keyring' | gnome-keyring-daemon --unlock --components=secrets)"
  export GNOME_KEYRING_CONTROL
else
  unset GNOME_KEYRING_CONTROL GNOME_KEYRING_PID
fi
cleanup() {
  [ -n "${GNOME_KEYRING_PID:-}" ] && kill "$GNOME_KEYRING_PID" 2>/dev/null || true
  rm -rf "$root" 2>/dev/null || true
}
trap cleanup EXIT
"$@"
