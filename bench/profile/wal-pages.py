#!/usr/bin/env python3
"""Which of a hub's tables and indexes each commit in its WAL wrote, in pages (docs/benchmarks.md §6).

    bench/profile/wal-pages.py HUB.sqlite [--commits 4]

Reads HUB.sqlite-wal frame by frame (its header, then a 24-byte header and a page per frame; a
frame whose "database size" is not 0 ends a commit), and names each page written by the b-tree it
belongs to, from SQLite's `dbstat` table of a copy of the file. Prints the last commits' page
counts by b-tree. A hub file to read: `YUQING_BENCH_KEEP=1 .build/release/yuqing-bench reconnect
--runs 1` keeps one (`hub.sqlite` in the directory it names), with the WAL of its last pushes.
"""
import argparse, collections, os, shutil, sqlite3, struct, sys, tempfile

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("hub")
ap.add_argument("--commits", type=int, default=4, help="how many of the last commits to show (default 4)")
a = ap.parse_args()
if not os.path.exists(a.hub + "-wal"):
    sys.exit(f"{a.hub}-wal does not exist: keep a hub file with its WAL (YUQING_BENCH_KEEP=1, see --help)")

# A copy, file and WAL together, so that reading it neither checkpoints nor changes the original.
work = tempfile.mkdtemp(prefix="yuqing-wal-pages-")
try:
    db = os.path.join(work, "hub.sqlite")
    shutil.copyfile(a.hub, db)
    shutil.copyfile(a.hub + "-wal", db + "-wal")
    wal = open(db + "-wal", "rb").read()
    if len(wal) < 32:
        sys.exit("the WAL is empty: nothing was committed since its last reset")
    _, _, page_size, _, salt1, salt2, _, _ = struct.unpack(">IIIIIIII", wal[:32])
    commits, current, offset = [], [], 32
    while offset + 24 + page_size <= len(wal):
        page, size_after, s1, s2, _, _ = struct.unpack(">IIIIII", wal[offset:offset + 24])
        if (s1, s2) != (salt1, salt2):
            break  # frames of an earlier generation of the WAL, overwritten only in part
        current.append(page)
        if size_after:
            commits.append(current)
            current = []
        offset += 24 + page_size
    con = sqlite3.connect(db)
    owner = dict((page, name) for name, page in con.execute("SELECT name, pageno FROM dbstat"))
    con.close()
    print(f"{len(commits)} commits in the WAL ({page_size}-byte pages); the last {min(a.commits, len(commits))}:")
    for frames in commits[-a.commits:]:
        by_tree = collections.Counter(owner.get(p, "?") for p in set(frames))
        print(f"  {len(set(frames)):,} pages: " + ", ".join(f"{name} {n}" for name, n in by_tree.most_common()))
finally:
    shutil.rmtree(work)
