#!/usr/bin/env bash
# Offline conflict scenario: a hub and three nodes as real processes.
#
# 1. The hub starts; the operator sets up the organisation; three nodes (a township's monitor,
#    the office, a leader) register and share a case.
# 2. The hub goes down. Offline, the nodes make concurrent edits: the leader raises the level and
#    the office lowers it, two write different summaries, two add different units concerned, the
#    township reports progress.
# 3. The hub comes back; everyone syncs. Rules decide the level (max wins) and the units concerned
#    (add wins); the two summaries wait in the operator's conflict queue.
# 4. The operator resolves the summary conflict once; everyone syncs again.
# 5. Each replica's digest is printed; the last line says whether all four converged.
#
# Usage: Examples/offline-conflict/run.sh   (YUQING_BIN=path to use a built binary; KEEP=1 keeps files)
set -euo pipefail
cd "$(dirname "$0")/../.."

EXAMPLE=offline-conflict
source Examples/lib.sh

step "hub on $HUB; the operator sets up the organisation at the hub; three nodes"
start_hub
"$Y" org unit office --name "County office" --db "$WORK/hub.sqlite"
"$Y" org unit township-a --name "Township A" --parent office --db "$WORK/hub.sqlite"
"$Y" org user li --unit township-a --role monitor --db "$WORK/hub.sqlite"
"$Y" org user chen --unit office --role office --db "$WORK/hub.sqlite"
"$Y" org user zhao --unit office --role leader --db "$WORK/hub.sqlite"
init_node township township-a li
init_node office office chen
init_node leader office zhao
for n in township office leader; do node "$n" sync; done

step "the township registers a case and everyone syncs"
CASE="$("$Y" case register --db "$WORK/township.sqlite" --title "Forum post: clinic overcharging" \
        --summary "A post claims the township clinic overcharges for checks." --level III | awk '{print $NF}')"
echo "case $CASE"
for n in township office leader; do node "$n" sync; done

step "the hub goes down; the nodes keep working offline"
stop_hub
node leader case level "$CASE" II --reason "Reposted widely overnight"
node township case set "$CASE" "summary=Post verified: fees were charged twice by mistake." "units+=Bureau B"
node office case level "$CASE" IV --reason "Few readers"
node office case set "$CASE" "summary=Fees are as published; the post misreads the price list." "units+=School D"
node township case report "$CASE" "Called the poster; they agreed to wait for the audit."
node office sync || echo "(as expected: the hub is down, the work stays saved on the node)"

step "the hub is back; everyone syncs (twice round, so each node sees the others' edits)"
start_hub
for n in township office leader township office leader; do node "$n" sync; done

step "the operator's conflict queue"
"$Y" conflicts list --hub "$HUB" --operator-key "$HUBDB.operator.key"
SUMMARY_CONFLICT="$("$Y" conflicts list --hub "$HUB" --operator-key "$HUBDB.operator.key" --json | python3 -c '
import json, sys
print(next(c["id"] for c in json.load(sys.stdin) if c["field"] == "summary"))')"
"$Y" conflicts show "$SUMMARY_CONFLICT" --hub "$HUB" --operator-key "$HUBDB.operator.key"

step "the operator resolves the summary conflict, once, for everyone"
"$Y" conflicts resolve "$SUMMARY_CONFLICT" --hub "$HUB" --operator-key "$HUBDB.operator.key" \
  --value "Fees were charged twice by mistake at one desk; refunds are under way."
for n in township office leader; do node "$n" sync; done

step "the case, as the township sees it"
node township case show "$CASE"

step "digests"
declare -A DIGEST
for n in township office leader hub; do
  DIGEST[$n]="$("$Y" digest --db "$WORK/$n.sqlite")"
  printf '%-9s %s\n' "$n" "${DIGEST[$n]}"
done
if [[ "${DIGEST[township]}" == "${DIGEST[hub]}" && "${DIGEST[office]}" == "${DIGEST[hub]}" \
      && "${DIGEST[leader]}" == "${DIGEST[hub]}" ]]; then
  echo "converged: 4 replicas, digest ${DIGEST[hub]}"
else
  echo "diverged"
  exit 1
fi
