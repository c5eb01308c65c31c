#!/usr/bin/env bash
# Installs the real RTMP peers the relay tests and benchmark use (Debian/Ubuntu, idempotent):
# ffmpeg/ffprobe (publisher, baseline relay, recording checks), nginx + the RTMP module (stand-in
# platforms that record what they receive), the stream module (TLS in front of nginx-rtmp for
# RTMPS), openssl (a self-signed certificate) and pyrtmp (PyPI: a pure-Python RTMP server, one
# more independent implementation for tests/relay_interop.rs).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v nginx >/dev/null || need+=(nginx)
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need+=(libnginx-mod-rtmp)
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3 python3-pip)
if [ ${#need[@]} -gt 0 ]; then
  echo "relay-deps: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The packaged nginx service is not used (tests run their own instances); keep it from holding
# port 80 where a package installation started it.
if command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
  $SUDO systemctl stop nginx || true
fi
# pyrtmp 0.3.1 (pure Python; its dependency is bitstring). Where pip refuses to touch a
# distribution-managed Python (PEP 668), install for the user instead.
if ! python3 -c "import pyrtmp" 2>/dev/null; then
  echo "relay-deps: installing pyrtmp (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check "pyrtmp==0.3.1" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages "pyrtmp==0.3.1"
fi
