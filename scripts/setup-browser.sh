#!/usr/bin/env bash
# Debian's Chromium for the browser test (Playwright drives it; no browser download).
# Installs it when missing and this user may (root, or sudo without a password); else says so.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else
  echo "note: chromium is not installed and apt needs root; the browser test will be skipped" >&2
  exit 0
fi
echo "installing chromium (apt)"
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
