#!/usr/bin/env bash
# One case through the whole handling workflow (domain §3), across four nodes and the hub as real
# processes, with the hub down for part of the time:
#
#   register with evidence → quick report → assess, raise the level → assign a lead and a co-unit
#   → the co-unit's assignment runs overdue and is urged → progress reports from both units
#   → a draft returned and revised → approval → publication → a reopen after new doubts
#   → a second reply → archive → review → case library
#
# Nodes: the township's monitor (li) and unit head (wang), the bureau's monitor (sun), and the
# office (chen: office, leader and spokesperson). The last line is `converged: N replicas, digest H`.
#
# Usage: Examples/case-lifecycle/run.sh   (YUQING_BIN=path to use a built binary; KEEP=1 keeps files)
set -euo pipefail
cd "$(dirname "$0")/../.."

EXAMPLE=case-lifecycle
source Examples/lib.sh
sync_all() { for n in "$@"; do node "$n" sync; done; }
NODES=(township head bureau office)
# The id of the newest reply draft of the case, as a node sees it.
newest_draft() { "$Y" case show "$CASE" --json --db "$WORK/$1.sqlite" | python3 -c 'import json,sys; print(json.load(sys.stdin)["replies"][-1]["id"])'; }

step "hub on $HUB; the operator sets up the organisation at the hub"
start_hub
"$Y" org unit county-office --name "县委网信办" --db "$HUBDB"
"$Y" org unit town-a --name "城关镇" --parent county-office --db "$HUBDB"
"$Y" org unit health-bureau --name "县卫健局" --parent county-office --db "$HUBDB"
"$Y" org user li --unit town-a --role monitor --role commentator --name "李明" --db "$HUBDB"
"$Y" org user wang --unit town-a --role unit-head --name "王强" --db "$HUBDB"
"$Y" org user sun --unit health-bureau --role monitor --name "孙丽" --db "$HUBDB"
"$Y" org user chen --unit county-office --role office --role leader --role spokesperson --name "陈静" --db "$HUBDB"
"$Y" org settings --utc-offset 480 --deadline quick_report=30 --db "$HUBDB"
"$Y" org show --db "$HUBDB"

step "four nodes: the township's monitor and unit head, the bureau's monitor, the office"
init_node township town-a li
init_node head town-a wang
init_node bureau health-bureau sun
init_node office county-office chen
sync_all "${NODES[@]}"

step "the hub goes down; the township's monitor registers a post with evidence and quick-reports it, offline"
stop_hub
CASE="$("$Y" case register --db "$WORK/township.sqlite" --title "论坛帖子：城关镇卫生院检查收费偏高" \
        --summary "网民发帖称卫生院体检收费高于公示价格" --excerpt "上周带孩子体检，收了两次费……" \
        --platform forum --site "县城论坛" --url "https://bbs.example.cn/t/10086" --poster "路人甲" \
        --category 2 --level III --keyword 收费 --keyword 卫生院 --concerns health-bureau | awk '{print $NF}')"
echo "case $CASE"
printf '\x89PNG\r\n\x1a\n screenshot of the post, taken before any removal was requested\n' > "$WORK/post.png"
node township case evidence "$CASE" "$WORK/post.png"
node township case quick-report "$CASE" "帖子属实存在，已截图取证，浏览量约两千。"
node township case heat "$CASE" --views 2000 --comments 35 --reposts 12
node township sync || echo "(as expected: the hub is down; the work stays saved on the node)"

step "the hub is back; the office assesses, raises the level and assigns a lead and a co-unit"
start_hub
sync_all township office
node office case assess "$CASE" --category 2 --level III --opinion "属询问质疑类，由城关镇牵头核实，县卫健局协办。"
node office case level "$CASE" II --reason "帖子被多个公众号转载"
node office case assign "$CASE" --lead town-a --co-unit health-bureau --deadline +5s --instruction "请两小时内书面报告，尽快核实回复。"
sync_all office township head bureau

step "the co-unit's assignment runs overdue; the office sees it (offline) and urges"
sleep 6
node office case due
node office case urge "$CASE" --unit health-bureau --note "请立即报送协办意见。"
sync_all office bureau

step "progress reports from both units"
node township case report "$CASE" --kind written "已约谈卫生院负责人，调阅收费记录，确有一次重复收费。"
node bureau case report "$CASE" "县卫健局已调阅收费依据，体检项目价格符合公示。"
sync_all township bureau

step "the township drafts a reply; its head signs; the office returns it with a reason"
node township reply draft "$CASE" "经核实，收费符合规定。"
sync_all township head
D1="$(newest_draft head)"
node head reply sign "$CASE" "$D1"
sync_all head office
node office reply return "$CASE" "$D1" --reason "未说明重复收费情况及退费安排。"
sync_all office township head

step "the draft is revised as a new version, signed, approved (level II: by a leader) and published"
node township reply draft "$CASE" "经核实，体检时因系统故障重复收费一次，已于当日全额退还，并向当事人致歉。" --revises "$D1"
sync_all township head
D2="$(newest_draft head)"
node head reply sign "$CASE" "$D2"
sync_all head office
node office reply approve "$CASE" "$D2"
node office reply publish "$CASE" "$D2" --link "https://bbs.example.cn/t/10086#reply-1"
node office case statement "$CASE" "县卫健局：已督促卫生院完善收费系统，欢迎群众监督。"
sync_all office township head bureau

step "new doubts after the reply: the office reopens the case; a second reply goes out (the hub is down meanwhile)"
node office case reopen "$CASE" --reason "网民追问其他患者是否也被重复收费。"
sync_all office township head
stop_hub
node township case report "$CASE" "已排查当月全部收费记录，另有两笔重复收费，均已退还。"
node township reply draft "$CASE" "经全面排查，当月另有两笔重复收费，均已退还；卫生院已升级收费系统。"
start_hub
sync_all township head
D3="$(newest_draft head)"
node head reply sign "$CASE" "$D3"
sync_all head office
node office reply approve "$CASE" "$D3"
node office reply publish "$CASE" "$D3" --link "https://bbs.example.cn/t/10086#reply-2"

step "archive, review and the case library"
node office case archive "$CASE" --note "处置完毕，网民表示认可。"
node office case review "$CASE" "发现及时、核查彻底、回复坦诚，重复收费问题已整改。"
node office case library "$CASE" "如实回应并主动排查同类问题的典型案例。"
sync_all office township head bureau office

step "the case, as the bureau sees it"
node bureau case show "$CASE"
node township case report "$CASE" "archived cases are read-only" || echo "(as expected: an archived case is read-only)"

step "the evidence file reached the bureau whole (sent after the changes, by its SHA-256)"
SHA="$(sha256sum "$WORK/post.png" | awk '{print $1}')"
ls -l "$WORK/bureau.sqlite.blobs/$SHA"
[[ "$(sha256sum "$WORK/bureau.sqlite.blobs/$SHA" | awk '{print $1}')" == "$SHA" ]] || { echo "the evidence did not arrive whole"; exit 1; }

step "digests"
declare -A DIGEST
for n in "${NODES[@]}" hub; do
  DIGEST[$n]="$("$Y" digest --db "$WORK/$n.sqlite")"
  printf '%-9s %s\n' "$n" "${DIGEST[$n]}"
done
for n in "${NODES[@]}"; do
  [[ "${DIGEST[$n]}" == "${DIGEST[hub]}" ]] || { echo "diverged: $n"; exit 1; }
done
STATUS="$("$Y" case show "$CASE" --json --db "$WORK/bureau.sqlite" | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["status"], c["round"])')"
[[ "$STATUS" == "archived 2" ]] || { echo "the case ended $STATUS, not archived in round 2"; exit 1; }
echo "converged: $(( ${#NODES[@]} + 1 )) replicas, digest ${DIGEST[hub]}"
