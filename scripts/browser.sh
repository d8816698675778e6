#!/usr/bin/env bash
# Installs Debian's Chromium and its WebDriver (chromium-driver) when missing, for the console's
# browser test and screenshots, and prints the driver's path.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "== installing chromium and chromium-driver (Debian packages)" >&2
  SUDO=""; [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >&2
fi
if ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then
  SUDO=""; [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-noto-cjk >&2 || echo "(no CJK font: Chinese shows as boxes in screenshots)" >&2
fi
command -v chromedriver
