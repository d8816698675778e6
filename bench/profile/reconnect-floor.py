#!/usr/bin/env python3
"""The storage floor of a reconnect push (docs/benchmarks.md §6).

Times, on a copy of a reconnect benchmark's hub file, only the writes that a push of N changes to
random cases makes to the hub's tables, and nothing else: for each change, the delete of the value
it replaces and the insert of its own in `field_value`, and its entry in `log` (with the log's
indexes). No merge logic, no rule check, no HTTP: one transaction per push, the writes in a
savepoint as the hub merges each push of a group, committed as the hub commits (WAL,
synchronous = FULL, the hub's cache size), the WAL checkpointed between pushes outside the
timing, as the hub's background checkpointer does.

    bench/profile/reconnect-floor.py HUB.sqlite [--pushes 50] [--changes 1000]
        [--parts values,log] [--drop-index NAME ...] [--wal-writes]

--parts times only the values' writes or only the log's; --drop-index drops one of the hub's
indexes from the copy first: together they show what each part of the write costs. A hub file to
start from: `YUQING_BENCH_KEEP=1 .build/release/yuqing-bench reconnect --runs 1` keeps one
(`hub.sqlite` in the directory it names).

--wal-writes writes as Yuqing's processes do (Sources/CSQLiteWAL, built here with `cc` and
registered through ctypes in this process's SQLite): a commit's WAL frames together, and the
savepoint's journal in memory; without it, as SQLite alone does: two system calls a frame, and
the savepoint's journal in a temporary file once past 64 KiB.
"""
import argparse, ctypes, os, random, shutil, statistics, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("hub")
ap.add_argument("--pushes", type=int, default=50)
ap.add_argument("--changes", type=int, default=1000)
ap.add_argument("--parts", default="values,log", help="values, log, or both (default)")
ap.add_argument("--drop-index", action="append", default=[], help="an index of the hub to drop from the copy first")
ap.add_argument("--wal-writes", action="store_true", help="write the WAL as Yuqing does (Sources/CSQLiteWAL)")
a = ap.parse_args()
parts = set(a.parts.split(","))
if not parts or not parts <= {"values", "log"}:
    sys.exit("--parts takes values, log or values,log")

work = tempfile.mkdtemp(prefix="yuqing-floor-")
wal = None
if a.wal_writes:
    # The same C file the Swift build compiles, as a shared library over the same libsqlite3.
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Sources", "CSQLiteWAL")
    library = os.path.join(work, "yuqing_wal.so")
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-I", os.path.join(source, "include"), "-o", library,
                    os.path.join(source, "yuqing_wal.c"), "-lsqlite3", "-lpthread"], check=True)
    wal = ctypes.CDLL(library, mode=os.RTLD_GLOBAL)
    if wal.yuqing_wal_install() != 0:
        sys.exit("SQLite would not register the WAL writer")
import sqlite3  # after the WAL writer, which configures SQLite before its first use
db = os.path.join(work, "hub.sqlite")
src = sqlite3.connect(a.hub)
dst = sqlite3.connect(db)
src.backup(dst)
src.close()
dst.close()

c = sqlite3.connect(db, isolation_level=None)
c.execute("PRAGMA journal_mode = WAL")
c.execute("PRAGMA synchronous = FULL")
c.execute("PRAGMA cache_size = -32768")
c.execute("PRAGMA wal_autocheckpoint = 0")
for index in a.drop_index:
    if c.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?", (index,)).fetchone()[0] != 1:
        sys.exit(f"the hub file has no index named {index}")
    c.execute(f'DROP INDEX "{index}"')
cases = [r[0] for r in c.execute("SELECT DISTINCT record FROM field_value WHERE kind = 'case'")]
rid = c.execute("INSERT INTO replica_name (name) VALUES ('floor-node') RETURNING rid").fetchone()[0]
seq = c.execute("SELECT max(seq) FROM log").fetchone()[0]
counter = 0
rng = random.Random(7)
times = []
commits = []
for push in range(a.pushes):
    rows = []
    for i in range(a.changes):
        counter += 1
        seq += 1
        record = rng.choice(cases)
        field = ("title", "status", "co_units")[i % 3]
        elem = f"unit-{rng.randrange(10)}" if field == "co_units" else ""
        value = f"第{push}次推送的第{i}条变更：{record}的{field}已更新，处理意见见附件{rng.randrange(10**6)}"
        rows.append((record, field, elem, counter, seq, value))
    t = time.perf_counter()
    c.execute("BEGIN IMMEDIATE")
    c.execute("SAVEPOINT push")  # the hub merges each push of a group in a savepoint of its own
    if "values" in parts:
        c.executemany("DELETE FROM field_value WHERE kind = 'case' AND record = ? AND field = ? AND elem = ?",
                      [(record, field, elem) for record, field, elem, n, s, value in rows])
        c.executemany("INSERT INTO field_value (kind, record, field, elem, rid, counter, hlc, value, author) "
                      "VALUES ('case', ?, ?, ?, ?, ?, ?, ?, 'user-0@unit-0')",
                      [(record, field, elem, rid, n, 117309440000000000 + n, value) for record, field, elem, n, s, value in rows])
    if "log" in parts:
        c.executemany("INSERT INTO log (seq, rid, counter, hlc, kind, record, field, elem, value, context, author) "
                      "VALUES (?, ?, ?, ?, 'case', ?, ?, ?, ?, NULL, 'user-0@unit-0')",
                      [(s, rid, n, 117309440000000000 + n, record, field, elem, value) for record, field, elem, n, s, value in rows])
    c.execute("RELEASE push")
    written = time.perf_counter()
    c.execute("COMMIT")
    commits.append((time.perf_counter() - written) * 1000)
    times.append((time.perf_counter() - t) * 1000)
    c.execute("PRAGMA wal_checkpoint(RESTART)")  # the next push rewrites the WAL from its start, as at the hub
c.close()
shutil.rmtree(work)
times.sort()
p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]
what = " and ".join(p for p in ("values", "log") if p in parts) + (f", without {', '.join(a.drop_index)}" if a.drop_index else "")
what += ", WAL frames written together" if a.wal_writes else ", WAL written by SQLite alone"
print(f"storage floor of a push of {a.changes} changes to random cases of {len(cases)} ({what}; {a.pushes} pushes, SQLite {sqlite3.sqlite_version}):")
print(f"  p50 {statistics.median(times):.1f} ms, p99 {p99:.1f} ms, min {times[0]:.1f} ms, max {times[-1]:.1f} ms")
commits.sort()
print(f"  of which the commit (writing and syncing the WAL): p50 {statistics.median(commits):.1f} ms, max {commits[-1]:.1f} ms")
if wal is not None:
    asked, made, spilled = ctypes.c_longlong(), ctypes.c_longlong(), ctypes.c_longlong()
    wal.yuqing_wal_counts(ctypes.byref(asked), ctypes.byref(made), ctypes.byref(spilled))
    if asked.value == 0:
        sys.exit("the WAL writer saw no write: Python's sqlite3 uses another libsqlite3 than cc linked, so these times are SQLite's own")
    print(f"  WAL writes: SQLite asked for {asked.value:,}, made as {made.value:,} system writes; "
          f"savepoint journals spilled to a file: {spilled.value}")
