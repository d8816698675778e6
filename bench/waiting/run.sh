#!/usr/bin/env bash
# Plants the most changes the hub lets wait (20 senders x 10,000, all waiting for changes that
# never come), then times pushes of one ready change. Before waiting changes were indexed and
# bounded, each push scanned everything that waited.
#   bench/waiting/run.sh [path to yuqing, default .build/release/yuqing]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-.build/release/yuqing}
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" hub serve --db "$dir/hub.sqlite" --port "$port" --log-level warning &
hub=$!
trap 'kill $hub; rm -rf "$dir"' EXIT
sleep 2
python3 bench/waiting/waiting.py "$port"
