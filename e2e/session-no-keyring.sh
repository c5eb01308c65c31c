#!/usr/bin/env bash
# Like session.sh (temp HOME and XDG folders), but with no keyring started: the session bus may
# start gnome-keyring on demand, which then has no collection to write to — what a fresh Xvfb or
# a minimal window manager session looks like. The app must fall back to its secrets file.
# Use inside `xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- e2e/session-no-keyring.sh CMD`.
set -euo pipefail
root=$(mktemp -d)
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export PATH="$PATH:$CARGO_HOME/bin"
export HOME="$root/home" XDG_DATA_HOME="$root/data" XDG_CONFIG_HOME="$root/config" XDG_CACHE_HOME="$root/cache"
export XDG_RUNTIME_DIR="$root/run"
mkdir -p "$HOME" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
unset GNOME_KEYRING_CONTROL GNOME_KEYRING_PID
cleanup() { rm -rf "$root" 2>/dev/null || true; }
trap cleanup EXIT
"$@"
