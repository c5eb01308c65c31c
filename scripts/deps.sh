#!/usr/bin/env bash
# Installs the system packages the build and tests need on Debian/Ubuntu (idempotent).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=()
pkg-config --exists dbus-1 2>/dev/null || need+=(libdbus-1-dev pkg-config)
command -v cc >/dev/null || need+=(build-essential)
# Headless Chromium for the OBS overlay test.
{ [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; } || need+=(chromium chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
