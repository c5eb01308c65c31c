#!/usr/bin/env bash
# Installs what the sync server's tests need on Debian/Ubuntu (idempotent): a real redis-server
# for the Redis-mode tests (each test starts its own on a free loopback port).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v redis-server >/dev/null; then
  echo "sync-deps: installing redis-server"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
# The packaged service is not needed (tests run their own); do not leave one running.
if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
  $SUDO systemctl stop redis-server || true
fi
