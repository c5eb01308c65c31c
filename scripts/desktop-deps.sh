#!/usr/bin/env bash
# Installs the system packages the desktop app needs on Debian 12 / Ubuntu (idempotent):
#   build:  GTK 3, WebKitGTK 4.1, libsoup 3, ayatana appindicator (tray), rsvg, xdo
#   run/test (with --test): Xvfb, dbus, WebKitWebDriver, gnome-keyring, imagemagick, trayer, ...
# Only what is missing is installed; a machine with everything present runs no apt at all.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
build=(build-essential pkg-config curl file libssl-dev libdbus-1-dev libgtk-3-dev libwebkit2gtk-4.1-dev
  libjavascriptcoregtk-4.1-dev libsoup-3.0-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev)
run=(xvfb xauth x11-utils imagemagick dbus dbus-x11 at-spi2-core webkit2gtk-driver gnome-keyring
  libsecret-tools keyutils xdotool xclip fonts-dejavu-core trayer)
want=("${build[@]}")
[ "${1:-}" = "--test" ] && want+=("${run[@]}")
need=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "desktop-deps: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
