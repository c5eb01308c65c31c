#!/usr/bin/env bash
# Installs real OBS Studio for the OBS tests (tests/obs_*.rs), idempotently (Debian/Ubuntu):
# Debian 12's obs-studio is OBS 29.0.2 with obs-websocket 5.1.0 built in; it runs headless under
# Xvfb (xvfb-run, xauth) with Mesa's software GL (libgl1-mesa-dri). The tests start their own OBS
# with a throwaway HOME, a random port and password.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=()
command -v obs >/dev/null || need+=(obs-studio)
command -v xvfb-run >/dev/null || need+=(xvfb)
command -v xauth >/dev/null || need+=(xauth)
ls /usr/lib/*/dri/swrast_dri.so >/dev/null 2>&1 || need+=(libgl1-mesa-dri)
if [ ${#need[@]} -gt 0 ]; then
  echo "obs-deps: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
