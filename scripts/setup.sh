#!/usr/bin/env bash
# Installs what building and running Yuqing needs on a Debian machine with Swift 6:
# SQLite, libcurl and zlib development files (the replicas, the node's HTTP client, and the
# compression of the binary wire form), and openssl (test certificates for the HTTPS hub).
set -euo pipefail

missing=()
for pkg in libsqlite3-dev libcurl4-openssl-dev zlib1g-dev openssl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "== installing ${missing[*]}" >&2
  SUDO=""
  [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi

if ! command -v swift >/dev/null 2>&1; then
  [[ -x /opt/swift/usr/bin/swift ]] && export PATH="/opt/swift/usr/bin:$PATH"
fi
command -v swift >/dev/null 2>&1 || {
  echo "Swift 6 is not installed: install a Swift 6.x toolchain (swift.org) and put it on PATH" >&2
  exit 1
}
