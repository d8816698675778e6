#!/usr/bin/env bash
# Runs the whole test suite: property tests of the core, SQLite replicas, the hub's API,
# end-to-end sync against a real hub on loopback, the CLI with real processes killed mid-sync, and
# the hub's PostgreSQL store against a real PostgreSQL server (scripts/postgres.sh).
#
#   scripts/test.sh                  # the normal run
#   YUQING_SOAK=1 scripts/test.sh    # heavier: many more random schedules
#   YUQING_FUZZ=200000 YUQING_API_FUZZ_EXAMPLES=500 scripts/test.sh   # long fuzz runs
#
# After the Swift tests, a live hub is fuzzed from Protocol/openapi.yaml with schemathesis
# (scripts/fuzz-api.sh; the tool is installed into .venv-tools from a pinned requirements file),
# and the web console is driven in headless Chromium between real nodes (Examples/console/run.sh;
# Debian's chromium and chromium-driver are installed by scripts/browser.sh, Selenium into the
# same venv).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
# A real PostgreSQL server for the PostgreSQL store's tests (Debian's package; initdb and pg_ctl in
# .postgres/, on 127.0.0.1). Without it those tests say so and are skipped.
source scripts/postgres.sh start
echo "== building (the first build compiles the dependencies: several minutes on 2 cores)" >&2
swift build --build-tests >&2
# One test at a time: several suites time real sockets and processes, and on two cores the suites
# that compute (random schedules) or block on child processes would otherwise hold every thread
# of Swift's cooperative pool that an in-process hub's timers need. The whole run takes ~3 min.
swift test --skip-build --no-parallel "$@"
if [[ $# -eq 0 ]]; then
  YUQING_BIN="$(swift build --show-bin-path)/yuqing" scripts/fuzz-api.sh
  echo "== the console in a real browser (Examples/console/run.sh)" >&2
  YUQING_BIN="$(swift build --show-bin-path)/yuqing" Examples/console/run.sh >&2
fi
