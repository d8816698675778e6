#!/usr/bin/env bash
# A month of the office's work (domain §5–6), with five field units, the office and the hub as
# real processes, on a calendar of its own: September 2026, then the first days of October, when
# the monthly reports on September are due. The National Day holidays (1–7 October) move that
# deadline from 3 October to 8 October (节假日顺延).
#
#   September: keywords are set; units register cases (each records the keywords it matched); the
#   office assesses and assigns them; one is handled through a published reply; the office itself
#   finds a post about the education bureau.
#   8 October: the township and the health bureau file their monthly reports, the village and the
#   education bureau file zero reports (零报告); the township also files a daily form.
#   9 October: the water bureau has filed nothing (missing); the health bureau files a correction.
#   12 October: the month's statistics at a node and at the hub, zero-report compliance, the
#   notice draft, searches (Chinese substrings of one, two and more characters), the exports (CSV,
#   XLSX) and the printable forms, in Chinese and in English.
#
# Every process runs under faketime (Debian's `faketime`, installed here if missing) at the
# scenario's date, office time (UTC+8). The last line is `converged: N replicas, digest H`:
# every node holds exactly what the hub holds of its unit's view, and the office's node everything.
#
# Usage: Examples/office-month/run.sh   (YUQING_BIN=path to use a built binary; KEEP=1 keeps files)
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v faketime >/dev/null 2>&1; then
  echo "== installing faketime" >&2
  SUDO=""; [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq faketime >&2
fi

EXAMPLE=office-month
EXAMPLE_CLOCK="2026-08-31 00:00:00"
source Examples/lib.sh

# Every yuqing process of the scenario runs at the scenario's date: a wrapper reads it from a file.
REAL_Y="$Y"
Y="$WORK/yuqing"
cat >"$Y" <<EOF
#!/usr/bin/env bash
export TZ=CST-8 FAKETIME_DONT_FAKE_MONOTONIC=1
exec faketime -f "@\$(cat "$WORK/clock")" "$REAL_Y" "\$@"
EOF
chmod +x "$Y"
# faketime runs the program as its child: stopping the hub stops that child too.
stop_hub() { pkill -TERM -P "$HUB_PID" 2>/dev/null || true; kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; HUB_PID=""; }
trap '[[ -n "$HUB_PID" ]] && stop_hub; cleanup' EXIT
# Sets the date (office time); a running hub is restarted on it.
clock() {
  echo "$1" >"$WORK/clock"
  step "$1 (office time)"
  if [[ -n "$HUB_PID" ]]; then stop_hub; start_hub; fi
}
NODES=(township head village health education office)
# Two rounds: what the last node pushes in the first reaches the others in the second.
sync_all() { for _ in 1 2; do for n in "${NODES[@]}"; do node "$n" sync >/dev/null; done; done; echo "(${#NODES[@]} nodes synced)"; }
register() {  # NODE TITLE ARGS… → prints the case id
  "$Y" case register --db "$WORK/$1.sqlite" --title "$2" "${@:3}" | awk '{print $NF}'
}

clock "2026-09-01 09:00:00"
step "the operator sets up the organisation, the National Day holidays and the office's keywords"
start_hub
"$Y" org unit county-office --name "县委网信办" --db "$HUBDB"
"$Y" org unit town-a --name "城关镇" --parent county-office --db "$HUBDB"
"$Y" org unit village-b --name "河西乡" --parent county-office --db "$HUBDB"
"$Y" org unit health-bureau --name "县卫健局" --parent county-office --db "$HUBDB"
"$Y" org unit edu-bureau --name "县教育局" --parent county-office --db "$HUBDB"
"$Y" org unit water-bureau --name "县水务局" --parent county-office --db "$HUBDB"
"$Y" org user li --unit town-a --role monitor --role commentator --name "李明" --db "$HUBDB"
"$Y" org user wang --unit town-a --role unit-head --name "王强" --db "$HUBDB"
"$Y" org user zhao --unit village-b --role monitor --name "赵刚" --db "$HUBDB"
"$Y" org user sun --unit health-bureau --role monitor --name "孙丽" --db "$HUBDB"
"$Y" org user zhou --unit edu-bureau --role monitor --name "周敏" --db "$HUBDB"
"$Y" org user chen --unit county-office --role office --role leader --name "陈静" --db "$HUBDB"
"$Y" org settings --utc-offset 480 --holiday 2026-10-01..2026-10-07 --db "$HUBDB"
"$Y" keyword add 收费 --db "$HUBDB"
"$Y" keyword add 食堂 --topic 校园食品安全 --db "$HUBDB"
"$Y" keyword add 拆迁 --topic 征地拆迁 --db "$HUBDB"

step "nodes for four units (the township's monitor and its head) and the office (the water bureau has none: it will miss its report)"
init_node township town-a li >/dev/null
init_node head town-a wang >/dev/null
init_node village village-b zhao >/dev/null
init_node health health-bureau sun >/dev/null
init_node education edu-bureau zhou >/dev/null
init_node office county-office chen >/dev/null
sync_all
node township keyword add 菜市场 --topic 市场监管
node township sync >/dev/null

clock "2026-09-10 10:00:00"
step "units register what they found; each case records the keywords its text holds"
C1="$(register township "城关镇菜市场违规收费引发投诉" --summary "网民称菜市场管理方重复收取摊位费" --platform weibo --category 2 --level III)"
C2="$(register township "城关镇老街拆迁补偿标准遭质疑" --summary "帖子称拆迁补偿低于周边乡镇" --platform forum --category 2 --level III)"
C3="$(register health "县医院挂号收费不透明" --summary "患者反映挂号费与公示不符" --platform wechat --category 2 --level IV)"
node township case show "$C1" | grep -E "keywords|关键词" || true
sync_all
node office case assess "$C1" --category 2 --level III --opinion "由城关镇牵头核实。"
node office case assign "$C1" --lead town-a --deadline "2026-09-15T18:00" --instruction "请核实并回复。"
node office case assess "$C2" --category 2 --level III --opinion "由城关镇牵头核实。"
node office case assign "$C2" --lead town-a --deadline "2026-09-12T18:00" --instruction "请尽快核实。"
node office case assess "$C3" --category 2 --level IV --opinion "由县卫健局核实。"
node office case assign "$C3" --lead health-bureau --deadline "2026-09-20T18:00"
sync_all

clock "2026-09-11 15:00:00"
step "the township handles the market case through a published reply"
node township case report "$C1" --kind handling "已约谈市场管理方，确认重复收取摊位费，责令退还。"
node township reply draft "$C1" "经核实，菜市场管理方重复收取摊位费属实，已责令全额退还并公示收费标准。"
D1="$("$Y" case show "$C1" --json --db "$WORK/township.sqlite" | python3 -c 'import json,sys; print(json.load(sys.stdin)["replies"][-1]["id"])')"
sync_all
node head reply sign "$C1" "$D1"
node head sync >/dev/null; node office sync >/dev/null
node office reply approve "$C1" "$D1"
node office reply publish "$C1" "$D1" --link "https://weibo.example.cn/reply/1"
sync_all

clock "2026-09-20 11:00:00"
step "the office finds a post about the education bureau's school canteen; the health bureau reports"
C4="$(register office "县实验小学食堂饭菜质量差" --summary "家长反映学校食堂饭菜分量少、质量差" --platform video --category 2 --level III --concerns edu-bureau)"
node health case report "$C3" --kind handling "已核对挂号收费，系公示栏未更新，已更正。"
sync_all

clock "2026-10-08 10:00:00"
step "8 October: reports on September are due today (3 October was a holiday, so the deadline moved)"
node township report file --period 2026-09 --cases 2 --replies 1 --text "本月发现舆情2件，已回复1件。"
node village report file --period 2026-09 --zero
node education report file --period 2026-09 --zero
node township report file --form daily --period 2026-10-08 --rounds 3 --zero
sync_all

clock "2026-10-09 09:30:00"
step "9 October: the health bureau files a day late; the water bureau files nothing"
node health report file --period 2026-09 --cases 1 --text "发现挂号收费问题1件，已处理。"
sync_all

clock "2026-10-12 09:00:00"
step "zero-report compliance for September, at the hub (Chinese) and at a node (English)"
"$Y" report status --month 2026-09 --db "$HUBDB" --lang zh
node office report status --month 2026-09 --lang en

step "September's statistics at the hub (everyone) and at the township's node (its own scope)"
"$Y" stats --month 2026-09 --db "$HUBDB" --lang zh
node township stats --month 2026-09 --lang en --unit town-a

step "the notice draft (通报) for September"
"$Y" notice --month 2026-09 --db "$HUBDB" --lang zh --out "$WORK/notice-2026-09.txt"
cat "$WORK/notice-2026-09.txt"

step "search: one character, two characters, and more, with filters"
"$Y" search 费 --db "$HUBDB" --lang zh
"$Y" search 拆迁 --db "$HUBDB" --lang zh
"$Y" search 重复收取 --status replied --db "$HUBDB" --lang en
node education search 食堂 --lang zh || true

step "exports: CSV (UTF-8 with a BOM) and XLSX, and the printable forms"
"$Y" export cases --month 2026-09 --db "$HUBDB" --csv "$WORK/cases-2026-09.csv" --xlsx "$WORK/cases-2026-09.xlsx" --lang zh
"$Y" stats --month 2026-09 --db "$HUBDB" --xlsx "$WORK/stats-2026-09.xlsx" --lang zh
"$Y" export reports --month 2026-09 --db "$HUBDB" --xlsx "$WORK/reports-2026-09.xlsx" --lang en
node township export handling-record "$C1" --out "$WORK/handling-$C1.html" --lang zh
node township export monthly-report --month 2026-09 --out "$WORK/monthly-town-a-2026-09.html" --lang zh
head -c 3 "$WORK/cases-2026-09.csv" | od -An -tx1 | grep -q "ef bb bf" || { echo "the CSV has no BOM"; exit 1; }
for f in cases-2026-09 stats-2026-09 reports-2026-09; do
  python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None and "xl/workbook.xml" in z.namelist()' "$WORK/$f.xlsx"
done

step "the figures the scenario must give"
python3 - "$Y" "$HUBDB" <<'PY'
import json, subprocess, sys
out = subprocess.run([sys.argv[1], "stats", "--month", "2026-09", "--db", sys.argv[2], "--json"], check=True, capture_output=True, text=True).stdout
s = json.loads(out)
standing = {m["unit"]: m["standing"] for m in s["monthly"]}
want = {"town-a": "on_time", "village-b": "on_time", "edu-bureau": "on_time", "health-bureau": "late", "water-bureau": "missing"}
assert standing == want, standing
t = s["total"]
assert t["cases"] == 4, t["cases"]
assert t["repliesPublished"] == 1, t
assert t["concealedReports"] == 1, t   # the education bureau's zero report, while a case about it was found
assert t["monthly"]["onTime"] == 3 and t["monthly"]["late"] == 1 and t["monthly"]["missing"] == 1, t["monthly"]
print("checked: 4 cases, 1 reply published, monthly reports 3 on time / 1 late / 1 missing, 1 concealed")
PY

step "digests: every node holds exactly what the hub holds of its view"
for n in "${NODES[@]}"; do
  out="$("$Y" digest --with-hub --db "$WORK/$n.sqlite")"
  grep -q "^equal" <<<"$out" || { echo "$n differs from the hub:"; echo "$out"; exit 1; }
  echo "$n: $(head -1 <<<"$out")"
done
HUB_DIGEST="$("$Y" digest --db "$HUBDB")"
[[ "$("$Y" digest --db "$WORK/office.sqlite")" == "$HUB_DIGEST" ]] || { echo "the office's node differs from the hub"; exit 1; }
echo "converged: $(( ${#NODES[@]} + 1 )) replicas, digest $HUB_DIGEST"
