#!/usr/bin/env bash
# Copies the screenshots the end-to-end tests took (scripts/test-desktop.sh writes them to
# <target>/screenshots, an ignored folder) into docs/screenshots/, the README's pictures. Only the
# pictures docs/ already has are replaced; `--all` also adds new ones. Run the tests first.
set -euo pipefail
cd "$(dirname "$0")/.."
all=false
for arg in "$@"; do
  case "$arg" in
    --all) all=true ;;
    *) echo "usage: scripts/refresh-screenshots.sh [--all]" >&2; exit 2 ;;
  esac
done
target=$(cargo metadata --format-version 1 --no-deps 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' || echo target)
from="${STREAMPAI_SCREENSHOTS:-$target/screenshots}"
shopt -s nullglob
shots=("$from"/*.png)
if [ ${#shots[@]} -eq 0 ]; then
  echo "no screenshots in $from: run scripts/test-desktop.sh first" >&2
  exit 1
fi
mkdir -p docs/screenshots
copied=0
for shot in "${shots[@]}"; do
  name=$(basename "$shot")
  if $all || [ -e "docs/screenshots/$name" ]; then
    cp "$shot" "docs/screenshots/$name"
    copied=$((copied + 1))
  else
    echo "new, not copied (use --all): $name"
  fi
done
echo "copied $copied screenshot(s) from $from into docs/screenshots/ (review with git diff --stat, then commit)"
