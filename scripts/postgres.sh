#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server for the tests and benchmarks, and exports its URL as
# YUQING_POSTGRES_URL. Sourced by scripts/test.sh; run it alone to get a server to try:
#
#   source scripts/postgres.sh      # installs Debian's postgresql when missing, then starts it
#   scripts/postgres.sh stop        # stops the server this script started
#
# The server is Debian's `postgresql` package, made with initdb in .postgres/ (a directory of
# this checkout, never committed) and started with pg_ctl on 127.0.0.1:$YUQING_PG_PORT (54329 by
# default, or the next free port when another checkout's server holds it). It runs as the
# `postgres` user when started by root (initdb refuses root).
set -euo pipefail
_yq_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_yq_dir="$_yq_root/.postgres"
_yq_port="${YUQING_PG_PORT:-54329}"
_yq_bin=""
for d in /usr/lib/postgresql/*/bin; do [[ -x "$d/initdb" ]] && _yq_bin="$d"; done
if [[ -z "$_yq_bin" ]]; then
  echo "== installing PostgreSQL (Debian's postgresql package)" >&2
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y -q postgresql >&2 || { $SUDO apt-get update -q >&2 && $SUDO apt-get install -y -q postgresql >&2; }
  for d in /usr/lib/postgresql/*/bin; do [[ -x "$d/initdb" ]] && _yq_bin="$d"; done
fi
if [[ -z "$_yq_bin" ]]; then
  echo "PostgreSQL could not be installed: the PostgreSQL tests will be skipped" >&2
  return 0 2>/dev/null || exit 0
fi
_yq_as() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [[ "${1:-start}" == "stop" ]]; then
  _yq_as "$_yq_bin/pg_ctl" -D "$_yq_dir/data" -m fast stop >&2 || true
  exit 0
fi
if [[ ! -f "$_yq_dir/data/PG_VERSION" ]]; then
  rm -rf "$_yq_dir"; mkdir -p "$_yq_dir"
  [[ $(id -u) -eq 0 ]] && chown postgres "$_yq_dir"
  _yq_as "$_yq_bin/initdb" -D "$_yq_dir/data" -U yuqing --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! _yq_as "$_yq_bin/pg_ctl" -D "$_yq_dir/data" status >/dev/null 2>&1; then
  # Another checkout's server may hold the default port: take the next free one (unless a port
  # was asked for), and remember it for the next `source` while this server runs.
  if [[ -z "${YUQING_PG_PORT:-}" ]]; then
    for _ in $(seq 1 50); do
      (exec 3<>"/dev/tcp/127.0.0.1/$_yq_port") 2>/dev/null || break
      _yq_port=$((_yq_port + 1))
    done
  fi
  echo "== starting PostgreSQL on 127.0.0.1:$_yq_port ($_yq_dir)" >&2
  _yq_as "$_yq_bin/pg_ctl" -D "$_yq_dir/data" -l "$_yq_dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $_yq_port -k $_yq_dir -c max_connections=200 -c fsync=on" start >/dev/null
  echo "$_yq_port" > "$_yq_dir/port"
elif [[ -z "${YUQING_PG_PORT:-}" && -f "$_yq_dir/port" ]]; then
  _yq_port="$(cat "$_yq_dir/port")"
fi
export YUQING_POSTGRES_URL="postgres://yuqing@127.0.0.1:$_yq_port/postgres"
echo "== PostgreSQL ready: $YUQING_POSTGRES_URL" >&2
