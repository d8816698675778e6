# Shared by the example scenarios: builds yuqing unless YUQING_BIN is given, makes a scratch
# directory (removed at exit unless KEEP=1), and starts and stops a hub on a free loopback port,
# serving HTTPS with a certificate made here (PLAIN_HTTP=1 serves plain HTTP instead).
# Source it from the repository's root with EXAMPLE set to the scenario's name.

if [[ -z "${YUQING_BIN:-}" ]]; then
  source scripts/setup.sh
  echo "== building yuqing (first build fetches and compiles dependencies: a few minutes)"
  swift build --product yuqing >&2
  YUQING_BIN="$(swift build --show-bin-path)/yuqing"
fi
Y="$YUQING_BIN"
# The scenarios read the CLI's English lines; where one shows a language it says so with --lang.
unset LC_ALL LC_MESSAGES
export LANG=C.UTF-8
WORK="$(mktemp -d -t "yuqing-$EXAMPLE.XXXXXX")"
HUB_PID=""
cleanup() {
  [[ -n "$HUB_PID" ]] && kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null || true
  if [[ -z "${KEEP:-}" ]]; then rm -rf "$WORK"; else echo "files kept in $WORK"; fi
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
HUBDB="$WORK/hub.sqlite"
TLS_ARGS=()
if [[ -z "${PLAIN_HTTP:-}" ]]; then
  # The hub's certificate, self-signed for 127.0.0.1. An office uses its own CA's (`--tls-ca`).
  # A scenario that runs on a calendar of its own (EXAMPLE_CLOCK, through faketime) makes the
  # certificate valid from that day.
  ${EXAMPLE_CLOCK:+faketime -f "@$EXAMPLE_CLOCK"} openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 400 -subj "/CN=yuqing hub" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$WORK/hub-tls.key" -out "$WORK/hub-tls.pem" 2>/dev/null
  TLS_ARGS=(--tls-cert "$WORK/hub-tls.pem" --tls-key "$WORK/hub-tls.key")
  HUB="https://127.0.0.1:$PORT"
  # The operator's commands trust the hub's certificate through this.
  export YUQING_HUB_CERT="$WORK/hub-tls.pem"
else
  HUB="http://127.0.0.1:$PORT"
fi

HUB_STARTS=0
start_hub() {
  HUB_STARTS=$((HUB_STARTS + 1))
  local log="$WORK/hub-$HUB_STARTS.log"
  "$Y" hub serve --db "$HUBDB" --port "$PORT" "${TLS_ARGS[@]}" >"$log" 2>&1 &
  HUB_PID=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$log" 2>/dev/null && { grep "listening on" "$log"; return 0; }
    kill -0 "$HUB_PID" 2>/dev/null || { cat "$log"; echo "the hub failed to start" >&2; exit 1; }
    sleep 0.1
  done
  echo "the hub did not start within 10 s" >&2; exit 1
}
stop_hub() { kill "$HUB_PID"; wait "$HUB_PID" 2>/dev/null || true; HUB_PID=""; }
step() { printf '\n== %s\n' "$*"; }
node() { local n="$1"; shift; echo "[$n] yuqing $*"; "$Y" "$@" --db "$WORK/$n.sqlite"; }

# Makes node NAME for USER of UNIT (both already in the organisation) and enrols its device: the
# operator makes a one-time code at the hub, the node presents it once with its public key. The
# code file also carries the hub's certificate, which the node pins.
init_node() {
  local n="$1" unit="$2" user="$3"
  "$Y" hub enrol --db "$HUBDB" --unit "$unit" --user "$user" --out "$WORK/$n.code"
  "$Y" node init --db "$WORK/$n.sqlite" --hub "$HUB" --unit "$unit" --user "$user"
  "$Y" node enrol --db "$WORK/$n.sqlite" --code-file "$WORK/$n.code"
}
