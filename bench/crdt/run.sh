#!/usr/bin/env bash
# Merge speed and wire size of Yuqing, Loro and Yrs (pycrdt) on one workload: see compare.py.
# Usage: bench/crdt/run.sh [--replicas N] [--records R] [--fields F] [--repeat K] [--workload synthetic|realistic]
#                          [--yuqing-bench PATH] [--json]
# Yuqing's numbers need its benchmark binary: swift build -c release --product yuqing-bench
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "run.sh: creating $venv" >&2
    python3 -m venv "$venv"
fi
echo "run.sh: installing $(grep -v '^#' "$here/requirements.txt" | xargs)" >&2
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"

echo "run.sh: running compare.py $*" >&2
CRDT_COMPARE_INVOKED_AS="$0" exec "$venv/bin/python" "$here/compare.py" "$@"
