#!/usr/bin/env python3
"""Compare in-memory merge speed and wire size: Yuqing vs Loro vs Yrs (pycrdt).

Run it through `bench/crdt/run.sh`, which sets up the virtual environment with the pinned
`loro` and `pycrdt` versions from `requirements.txt` and passes its arguments through.

The workload (identical in all three engines)
---------------------------------------------
* N replicas, r = 0..N-1. Loro peer id = r+1, Yrs client id = r+1.
* Every replica writes, for record i = 0..R-1 and then field j = 0..F-1 (in that order), the key
  f"c{i}/f{j}" in one root map named "cases", with the value
  WORDS[(r*7 + i*3 + j) % 11]. The keys are flat, so each (record, field) pair is one map entry,
  and the N replicas' concurrent writes to it conflict per key (last-writer-wins in Loro and Yrs,
  per-field rules in Yuqing). Loro commits once per record (after its F inserts); Yrs uses one
  transaction per record.
* Each replica exports its whole history as one update (Loro: `ExportMode.Updates` from an empty
  `VersionVector`; Yrs: `Doc.get_update()`).

That is the synthetic workload (`--workload synthetic`, the default): every replica writes the same
records with eleven short words, which compresses very well and flatters every engine. The
realistic workload (`--workload realistic`) is as field units work: replica r registers its own
records, key f"r{r}-c{i}/f{j}", and every value is distinct Chinese text, f"值{r}-{i}-{j}"
(`值12-345-6`), so the merged map has N*R*F keys. Report both.

What is timed
-------------
Only the merge: a fresh, empty document imports all N updates (Loro: `import_batch`; Yrs:
`apply_update` once per update), measured with `time.perf_counter`. Building the replicas,
exporting them and creating the empty document are not timed. The merge is repeated K times, each
time into a new document, and the median is reported. After every merge the merged map must have
exactly R*F keys (and Loro must report no pending updates), or the script fails.

Rate = N*R*F / median merge seconds (field changes per second).
Wire size = sum of the N update lengths / (N*R*F) bytes per field change, raw and with each update
compressed separately by zlib level 6.

Yuqing's row comes from our own benchmark binary, run as
    yuqing-bench merge --replicas N --records R --fields F --repeat K --json
which prints one JSON object on stdout:
    {"engine": "Yuqing", "changes": ..., "merge_seconds": ..., "changes_per_second": ...,
     "wire_bytes": ..., "wire_bytes_compressed": ...}
where merge_seconds is already the median of K runs of decode + merge. If the binary is missing,
the Loro and Yrs rows are still printed, followed by how to build it, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_YUQING_BENCH = REPO_ROOT / ".build" / "release" / "yuqing-bench"
BUILD_HINT = "swift build -c release --product yuqing-bench"

WORDS = ["IV", "III", "II", "I", "registered", "assessed", "assigned", "handling", "replied",
         "following", "archived"]
ROOT_MAP = "cases"


WORKLOADS = ("synthetic", "realistic")


def key(w: "Workload", r: int, i: int, j: int) -> str:
    return f"r{r}-c{i}/f{j}" if w.kind == "realistic" else f"c{i}/f{j}"


def value(w: "Workload", r: int, i: int, j: int) -> str:
    return f"值{r}-{i}-{j}" if w.kind == "realistic" else WORDS[(r * 7 + i * 3 + j) % 11]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Result:
    engine: str
    version: str
    changes: int
    merge_seconds: float
    changes_per_second: float
    wire_bytes: int
    wire_bytes_compressed: int
    merge_seconds_runs: list[float] | None = None  # every run, for Loro and Yrs


@dataclass
class Workload:
    replicas: int
    records: int
    fields: int
    repeat: int
    kind: str = "synthetic"

    @property
    def changes(self) -> int:
        return self.replicas * self.records * self.fields

    @property
    def merged_keys(self) -> int:
        """Keys of the merged map: shared records (synthetic), or every replica's own (realistic)."""
        return self.changes if self.kind == "realistic" else self.records * self.fields


# --- Loro --------------------------------------------------------------------------------------

def loro_updates(w: Workload) -> list[bytes]:
    from loro import ExportMode, LoroDoc, VersionVector

    updates = []
    for r in range(w.replicas):
        doc = LoroDoc()
        doc.peer_id = r + 1  # a property in loro 1.x; there is no set_peer_id()
        cases = doc.get_map(ROOT_MAP)
        for i in range(w.records):
            for j in range(w.fields):
                cases.insert(key(w, r, i, j), value(w, r, i, j))
            doc.commit()
        updates.append(doc.export(ExportMode.Updates(VersionVector())))
    return updates


def loro_merge(updates: list[bytes]) -> tuple[float, Callable[[], int]]:
    from loro import LoroDoc

    doc = LoroDoc()
    start = time.perf_counter()
    status = doc.import_batch(updates)
    seconds = time.perf_counter() - start
    if status.pending is not None:
        raise SystemExit(f"Loro: updates left pending after the merge: {status.pending}")
    return seconds, lambda: len(doc.get_map(ROOT_MAP).keys())


# --- Yrs (pycrdt) ------------------------------------------------------------------------------

def yrs_updates(w: Workload) -> list[bytes]:
    from pycrdt import Doc, Map

    updates = []
    for r in range(w.replicas):
        doc = Doc(client_id=r + 1)
        cases = doc.get(ROOT_MAP, type=Map)
        for i in range(w.records):
            with doc.transaction():
                for j in range(w.fields):
                    cases[key(w, r, i, j)] = value(w, r, i, j)
        updates.append(doc.get_update())
    return updates


def yrs_merge(updates: list[bytes]) -> tuple[float, Callable[[], int]]:
    from pycrdt import Doc, Map

    doc = Doc()
    start = time.perf_counter()
    for update in updates:
        doc.apply_update(update)
    seconds = time.perf_counter() - start
    return seconds, lambda: len(doc.get(ROOT_MAP, type=Map))


# --- measuring ---------------------------------------------------------------------------------

def measure(engine: str, package: str, w: Workload,
            build: Callable[[Workload], list[bytes]],
            merge: Callable[[list[bytes]], tuple[float, Callable[[], int]]]) -> Result:
    log(f"{engine}: building {w.replicas} replicas of {w.records} x {w.fields} fields…")
    updates = build(w)
    times = []
    for k in range(w.repeat):
        gc.collect()
        seconds, merged_keys = merge(updates)
        keys = merged_keys()
        del merged_keys  # frees the merged document before the next run
        if keys != w.merged_keys:
            raise SystemExit(f"{engine}: merged map has {keys} keys, expected {w.merged_keys}")
        times.append(seconds)
        log(f"{engine}: merge {k + 1}/{w.repeat}: {seconds * 1000:.1f} ms")
    median = statistics.median(times)
    return Result(
        engine=engine,
        version=importlib.metadata.version(package),
        changes=w.changes,
        merge_seconds=median,
        changes_per_second=w.changes / median,
        wire_bytes=sum(len(u) for u in updates),
        wire_bytes_compressed=sum(len(zlib.compress(u, 6)) for u in updates),
        merge_seconds_runs=times,
    )


def run_yuqing(binary: Path, w: Workload) -> tuple[Result | None, str | None]:
    """Yuqing's row from its benchmark binary, or (None, why it is missing)."""
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        return None, (f"Yuqing: no benchmark binary at {binary}; build it with "
                      f"`{BUILD_HINT}` (or pass --yuqing-bench / set YUQING_BENCH)")
    command = [str(binary), "merge", "--replicas", str(w.replicas), "--records", str(w.records),
               "--fields", str(w.fields), "--repeat", str(w.repeat), "--workload", w.kind, "--json"]
    log(f"Yuqing: {shlex.join(command)}")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return None, (f"Yuqing: {binary} exited {done.returncode}: "
                      f"{done.stderr.strip() or done.stdout.strip()}")
    try:
        data = json.loads(done.stdout)
        result = Result(
            engine="Yuqing",
            version="this repo",
            changes=int(data["changes"]),
            merge_seconds=float(data["merge_seconds"]),
            changes_per_second=float(data["changes_per_second"]),
            wire_bytes=int(data["wire_bytes"]),
            wire_bytes_compressed=int(data["wire_bytes_compressed"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"Yuqing: unexpected output from {binary} ({error!r}):\n{done.stdout}")
    if result.changes != w.changes:
        raise SystemExit(f"Yuqing: reports {result.changes} changes, expected {w.changes}")
    return result, None


# --- output ------------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor()
    if not cpu:  # empty on most Linux systems
        try:
            with open("/proc/cpuinfo") as f:
                cpu = next((line.split(":", 1)[1].strip() for line in f
                            if line.startswith("model name")), "")
        except OSError:
            pass
    return f"{cpu or platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}"


def table(results: list[Result]) -> str:
    yrs = next((r for r in results if r.engine.startswith("Yrs")), None)
    header = ["engine", "version", "field changes", "merge median (ms)", "field changes/s",
              "bytes/change raw", "bytes/change zlib-6", "merge rate vs Yrs"]
    rows = [header, ["---"] * len(header)]
    for r in results:
        rows.append([
            r.engine,
            r.version,
            f"{r.changes:,}",
            f"{r.merge_seconds * 1000:,.1f}",
            f"{r.changes_per_second:,.0f}",
            f"{r.wire_bytes / r.changes:.2f}",
            f"{r.wire_bytes_compressed / r.changes:.2f}",
            f"{r.changes_per_second / yrs.changes_per_second:.2f}×" if yrs else "–",
        ])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=4, metavar="N")
    parser.add_argument("--records", type=int, default=10000, metavar="R")
    parser.add_argument("--fields", type=int, default=8, metavar="F")
    parser.add_argument("--repeat", type=int, default=5, metavar="K",
                        help="merges per engine; the median is reported")
    parser.add_argument("--yuqing-bench", type=Path, metavar="PATH",
                        default=Path(os.environ.get("YUQING_BENCH") or DEFAULT_YUQING_BENCH),
                        help="Yuqing's benchmark binary (default: $YUQING_BENCH or "
                             ".build/release/yuqing-bench in the repo root)")
    parser.add_argument("--workload", choices=WORKLOADS, default="synthetic",
                        help="synthetic: every replica writes the same records with eleven short words; "
                             "realistic: every replica its own records, every value distinct Chinese text")
    parser.add_argument("--json", action="store_true",
                        help="also print the results as one JSON object after the table")
    args = parser.parse_args()
    for name in ("replicas", "records", "fields", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    w = Workload(args.replicas, args.records, args.fields, args.repeat, args.workload)

    yuqing, missing = run_yuqing(args.yuqing_bench, w)
    results = [r for r in [yuqing] if r]
    results.append(measure("Loro", "loro", w, loro_updates, loro_merge))
    results.append(measure("Yrs (pycrdt)", "pycrdt", w, yrs_updates, yrs_merge))

    invoked_as = os.environ.get("CRDT_COMPARE_INVOKED_AS") or f"python3 {sys.argv[0]}"
    command = [invoked_as, "--replicas", str(w.replicas), "--records", str(w.records),
               "--fields", str(w.fields), "--repeat", str(w.repeat), "--workload", w.kind,
               "--yuqing-bench", str(args.yuqing_bench)] + (["--json"] if args.json else [])
    print(f"Workload ({w.kind}): {w.replicas} replicas × {w.records} records × {w.fields} fields = "
          f"{w.changes:,} field changes, median of {w.repeat} merges; "
          f"machine: {machine()}, Python {platform.python_version()}")
    print(f"Command: {' '.join(command[:1] + [shlex.quote(a) for a in command[1:]])}")
    print()
    print(table(results))
    if missing:
        print()
        print(missing)
    if args.json:
        print(json.dumps({
            "workload": asdict(w) | {"changes": w.changes},
            "machine": machine(),
            "results": [asdict(r) for r in results],
            "missing": missing,
        }))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
