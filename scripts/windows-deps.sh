#!/usr/bin/env bash
# Installs what the Windows cross-check needs (idempotent): the x86_64-pc-windows-gnu Rust target
# and Debian's MinGW-w64 toolchain (C/C++ for the crates with build scripts: ring, SQLite, ...).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
rustup target list --installed | grep -qx x86_64-pc-windows-gnu || rustup target add x86_64-pc-windows-gnu
need=()
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
command -v x86_64-w64-mingw32-g++ >/dev/null || need+=(g++-mingw-w64-x86-64)
if [ ${#need[@]} -gt 0 ]; then
  echo "windows-deps: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
