#!/usr/bin/env bash
# Profiles the hub process of a benchmark while the benchmark runs, and prints what share of the
# hub's CPU samples fell under each part of its work (docs/benchmarks.md §6-7).
#
#   bench/profile/hub.sh [--after TEXT] [--seconds N] -- BENCHMARK ARGS...
#   bench/profile/hub.sh --after "reconnect: 10/" -- reconnect --runs 60
#   bench/profile/hub.sh --after "round 2/" -- many-nodes --scope unit --rounds 6
#
# Starts `.build/release/yuqing-bench BENCHMARK ARGS...`, waits until it prints TEXT (the timed
# phase), records the hub with `perf record --call-graph dwarf` for N seconds (default 5), lets the
# benchmark finish, and prints its result and the table. A sample counts under every part whose
# function is on its stack, so the shares overlap (the request handling holds the others).
# Installs linux-perf when perf is missing. Build first: swift build -c release --product yuqing
# and --product yuqing-bench.
set -euo pipefail
cd "$(dirname "$0")/../.."
after="" seconds=5
while [[ $# -gt 0 && "$1" != "--" ]]; do
  case "$1" in
    --after) after="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "${1:-}" == "--" ]] && shift
[[ $# -gt 0 ]] || { echo "give the benchmark after --, e.g. -- reconnect --runs 60" >&2; exit 2; }
bench=.build/release/yuqing-bench
[[ -x $bench && -x .build/release/yuqing ]] || { echo "build first: swift build -c release --product yuqing; swift build -c release --product yuqing-bench" >&2; exit 2; }
if ! command -v perf >/dev/null; then
  echo "== installing linux-perf" >&2
  SUDO=""; [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq linux-perf >&2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bench" "$@" > "$work/out" 2>&1 &
runner=$!
hub=""
for _ in $(seq 1 1500); do
  kill -0 $runner 2>/dev/null || { cat "$work/out"; echo "the benchmark ended before its hub could be profiled" >&2; exit 1; }
  hub=$(pgrep -f "yuqing hub serve --db /tmp/yuqing-bench-" | head -1 || true)
  if [[ -n "$hub" ]] && { [[ -z "$after" ]] || grep -qF -- "$after" "$work/out"; }; then break; fi
  hub=""
  sleep 0.2
done
[[ -n "$hub" ]] || { echo "no hub process of the benchmark was found" >&2; kill $runner; exit 1; }
echo "== recording hub process $hub for $seconds s" >&2
perf record -q -F 2000 --call-graph dwarf,16384 -p "$hub" -o "$work/perf.data" -- sleep "$seconds" >/dev/null 2>&1
wait $runner
cat "$work/out"
perf script -i "$work/perf.data" 2>/dev/null | python3 "$(dirname "$0")/parts.py"
