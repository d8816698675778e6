#!/usr/bin/env bash
# Fuzzes a live hub from Protocol/openapi.yaml with schemathesis: every operation, with generated
# valid and invalid input, signed (through scripts/signing_proxy.py: an enrolled device pushes,
# the operator does the rest) and unsigned. Fails on any 5xx answer or if the hub dies. The long
# poll (/v1/wait, up to 60 s an answer) is fuzzed unsigned only, where it answers at once; its
# parameters are covered by the hub's LongPollTests.
# YUQING_API_FUZZ_EXAMPLES sets the examples per operation (default 25; a long run: 500).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
bin="$(scripts/tools.sh)"
if [[ -z "${YUQING_BIN:-}" ]]; then
  swift build --product yuqing >&2
  YUQING_BIN="$(swift build --show-bin-path)/yuqing"
fi
examples="${YUQING_API_FUZZ_EXAMPLES:-25}"
work="$(mktemp -d -t yuqing-fuzz.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

hub_port="$(free_port)"; proxy_port="$(free_port)"
"$YUQING_BIN" hub serve --db "$work/hub.sqlite" --port "$hub_port" --log-level error >"$work/hub.log" 2>&1 &
hub_pid=$!; pids+=("$hub_pid")
for _ in $(seq 1 100); do grep -q "listening on" "$work/hub.log" && break; sleep 0.1; done
code="$("$YUQING_BIN" hub enrol --db "$work/hub.sqlite" --unit town-a --user li --role monitor | tail -1)"
"$YUQING_BIN" node init --db "$work/node.sqlite" --hub "http://127.0.0.1:$hub_port" --unit town-a --user li --code "$code" >/dev/null
device="$("$YUQING_BIN" node info --db "$work/node.sqlite" | awk '/^replica:/ {print $2}')"
"$bin/python" scripts/signing_proxy.py "$proxy_port" "$hub_port" "$device" "$work/node.sqlite.key" "$work/hub.sqlite.operator.key" &
pids+=("$!")
sleep 1

run() {
  echo "== schemathesis against $1 ($examples examples per operation)" >&2
  "$bin/schemathesis" run Protocol/openapi.yaml --url "$1" --checks not_a_server_error --max-examples "$examples" "${@:3}" \
    --seed 20261121 --request-timeout 30 --suppress-health-check all >"$work/$2.txt" 2>&1 || { cat "$work/$2.txt"; echo "schemathesis found failures ($2)" >&2; exit 1; }
  tail -n 4 "$work/$2.txt" >&2
}
run "http://127.0.0.1:$proxy_port" signed --exclude-path /v1/wait
run "http://127.0.0.1:$hub_port" unsigned
kill -0 "$hub_pid" 2>/dev/null || { cat "$work/hub.log"; echo "the hub died during the fuzz run" >&2; exit 1; }
echo "fuzz run: no 5xx answer, the hub still running" >&2
