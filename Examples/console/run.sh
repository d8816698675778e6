#!/usr/bin/env bash
# The web console in a real browser: a hub and three nodes as real processes, and headless
# Chromium (Debian's chromium and chromium-driver, driven by Selenium) at the office's desk.
#
# 1. The hub starts (HTTPS on loopback); the operator sets up two townships and the office, and
#    gives the office's director and a township's monitor console passwords.
# 2. Township A's two nodes register a case and write its summary concurrently (a conflict for
#    the operator); township B registers a case of its own.
# 3. In the browser (scripts/console_browser.py): a wrong password is refused; the director signs
#    in, resolves the conflict with a note, assesses and assigns the case. Township A's nodes sync,
#    draft a reply and sign it; in the browser the director approves it. Township B's monitor
#    signs in and sees neither township A's case nor its page.
# 4. The nodes sync: each must hold what the browser did (the resolved summary, the lead unit,
#    the approved reply), and each node's digest must equal the hub's digest of its unit's view.
#
# Usage: Examples/console/run.sh                  (YUQING_BIN=path to use a built binary; KEEP=1 keeps files)
#        SCREENSHOTS=DIR Examples/console/run.sh  also writes a screenshot of every page, in both languages
set -euo pipefail
cd "$(dirname "$0")/../.."

EXAMPLE=console
source Examples/lib.sh
DRIVER="$(scripts/browser.sh)"
TOOLS="$(scripts/tools.sh)"
sync_all() { for n in "$@"; do node "$n" sync >/dev/null; done; }
field() { "$Y" case show "$CASE" --json --db "$WORK/$1.sqlite" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }

step "hub on $HUB; the organisation; console passwords"
start_hub
"$Y" org unit county-office --name "县委网信办" --db "$HUBDB"
"$Y" org unit town-a --name "城关镇" --parent county-office --db "$HUBDB"
"$Y" org unit town-b --name "河西镇" --parent county-office --db "$HUBDB"
"$Y" org user wang --unit county-office --role office --role operator --name "王主任" --db "$HUBDB"
"$Y" org user li --unit town-a --role monitor --role commentator --name "李明" --db "$HUBDB"
"$Y" org user zhao --unit town-a --role unit-head --role monitor --name "赵强" --db "$HUBDB"
"$Y" org user sun --unit town-b --role monitor --name "孙丽" --db "$HUBDB"
echo "office-desk-2026" | "$Y" hub console-user --db "$HUBDB" wang
echo "river-west-2026" | "$Y" hub console-user --db "$HUBDB" sun
init_node a1 town-a li
init_node a2 town-a zhao
init_node b town-b sun

step "township A registers a case; its two nodes write the summary concurrently; township B registers its own"
CASE="$("$Y" case register --db "$WORK/a1.sqlite" --title "论坛帖子：城关镇卫生院重复收费" --platform forum --category 2 --level III \
        --summary "网帖称卫生院体检重复收费。" | awk '{print $NF}')"
echo "case $CASE"
sync_all a1 a2
node a1 case set "$CASE" "summary=经核实，系统故障导致重复收费一次。"
node a2 case set "$CASE" "summary=收费符合公示标准，网帖误读价目表。"
sync_all a1 a2 a1
OTHER="$("$Y" case register --db "$WORK/b.sqlite" --title "微博：河西镇道路积水" --platform weibo --category 2 --level IV | awk '{print $NF}')"
sync_all b
"$Y" conflicts list --hub "$HUB" --operator-key "$HUBDB.operator.key"

browser() { "$TOOLS/python" scripts/console_browser.py --base "$HUB/console" --driver "$DRIVER" --case "$CASE" --other-case "$OTHER" \
  ${SCREENSHOTS:+--screenshots "$SCREENSHOTS"} "$@"; }
step "the browser: sign in, resolve the conflict, assess and assign the case"
browser --phase assign --chosen "$WORK/chosen.txt"

step "township A receives the assignment, drafts a reply and its head signs it"
sync_all a1 a2
node a1 reply draft "$CASE" "经核实，体检时因系统故障重复收费一次，已全额退还并致歉。"
sync_all a1 a2
DRAFT="$(field a2 'd["replies"][-1]["id"]')"
node a2 reply sign "$CASE" "$DRAFT"
sync_all a2 a1

step "the browser: approve the reply; every page; a unit's user sees only their unit"
browser --phase approve --draft "$DRAFT"

step "the nodes sync and hold what the browser did"
sync_all a1 a2 b
SUMMARY="$(field a1 'd["summary"]')"; LEAD="$(field a2 'd["lead_unit"]')"; STAGE="$(field a1 'd["replies"][-1]["stage"]')"
echo "summary: $SUMMARY"; echo "lead unit: $LEAD"; echo "reply: $STAGE"
[[ "$SUMMARY" == "$(cat "$WORK/chosen.txt")" && "$(field a2 'len(d["conflicts"])')" == 0 ]] || { echo "the resolution did not reach the node"; exit 1; }
[[ "$LEAD" == "town-a" ]] || { echo "the assignment did not reach the node"; exit 1; }
[[ "$STAGE" == "approved" ]] || { echo "the approval did not reach the node"; exit 1; }
if "$Y" case show "$CASE" --db "$WORK/b.sqlite" >/dev/null 2>&1; then echo "township B holds township A's case"; exit 1; fi
"$Y" conflicts list --hub "$HUB" --operator-key "$HUBDB.operator.key"

step "digests: each node against the hub's digest of what its unit may see"
ok=0
for n in a1 a2 b; do
  out="$("$Y" digest --with-hub --db "$WORK/$n.sqlite")"
  mine="$(sed -n 's/^node  //p' <<<"$out")"; theirs="$(sed -n 's/^hub   \([0-9a-f]*\).*/\1/p' <<<"$out")"
  printf '%-3s %s %s\n' "$n" "$mine" "$theirs"
  [[ -n "$mine" && "$mine" == "$theirs" ]] && ok=$((ok + 1))
done
if [[ $ok -eq 3 ]]; then echo "converged: 3 replicas with the hub's view of their units"; else echo "diverged"; exit 1; fi
