#!/usr/bin/env bash
# Makes (or reuses) the virtual environment of the Python test tools, from the pinned
# scripts/requirements-tools.txt, and prints its bin directory. Installs python3-venv first when
# the system lacks it.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-tools
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "== installing python3-venv" >&2
  SUDO=""; [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >&2
fi
stamp="$venv/.requirements"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s scripts/requirements-tools.txt "$stamp"; then
  echo "== making $venv from scripts/requirements-tools.txt" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r scripts/requirements-tools.txt >&2
  cp scripts/requirements-tools.txt "$stamp"
fi
echo "$PWD/$venv/bin"
