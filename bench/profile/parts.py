"""Reads `perf script` output of the hub and prints the share of samples under each part."""
import re
import sys

# Part, and a pattern of the (mangled) functions that make it.
PARTS = [
    ("rule check: reading the touched cases", r"ruleInputs"),
    ("rule check: the workflow's rules", r"CaseRules"),
    ("merge and commit (the group's transaction)", r"applyGroup"),
    ("  merge of the changes", r"Merge[OV]5apply|Merge[OV]10applyReady"),
    ("  grants of unit views", r"updateScopes"),
    ("  commit: writing the WAL", r"sqlite3WalFrames"),
    ("  commit: syncing the WAL", r"fdatasync|fsync"),
    ("pulls: reading the log", r"StorageV7changes|scopedChanges"),
    ("pulls: encoding the batch", r"PullResponseV6binary"),
    ("status figures", r"statusFigures"),
    ("request signatures and seals (Ed25519)", r"isValidSignature"),
    ("background checkpoints", r"WALCheckpointer"),
    ("HTTP and event loops (SwiftNIO)", r"NIOPosix"),
    ("in the kernel", r"kernel\.kallsyms"),
]


def main():
    samples = [s for s in sys.stdin.read().split("\n\n") if s.strip()]
    if not samples:
        sys.exit("no samples: did perf record the hub?")
    print(f"\n{len(samples)} samples of the hub\n")
    print("| part | share of the hub's samples |")
    print("|---|---|")
    for name, pattern in PARTS:
        rx = re.compile(pattern)
        n = sum(1 for s in samples if rx.search(s))
        print(f"| {name.replace('  ', '&nbsp;&nbsp;')} | {100 * n / len(samples):.1f}% |")


main()
