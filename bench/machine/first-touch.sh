#!/usr/bin/env bash
# What memory the kernel has not used for a while costs the first time it is used again, on this
# machine (docs/benchmarks.md §5, §7).
#
#   bench/machine/first-touch.sh [MiB]      (default 300)
#
# Writes MiB of data into the page cache three times, each to a new file, keeping the files, then
# removes them and writes twice more at once. On a virtual machine whose balloon device reports
# free pages to the host (virtio-balloon's free page reporting), memory freed for a while has gone
# back to the host, and each page costs a fault on the host when the guest next uses it: the
# writes into memory the machine had not used lately take several times as long as the writes
# into memory just freed. (Run twice in a row, the second run finds the memory the first freed
# still in the guest, and all its writes are fast.) Prints the times and whether the balloon
# device offers free page reporting (feature bit 5). Needs nothing but coreutils; writes to
# $TMPDIR (default /tmp).
set -euo pipefail
mib=${1:-300}
dir=$(mktemp -d "${TMPDIR:-/tmp}/first-touch.XXXXXX")
trap 'rm -rf "$dir"' EXIT
write() {  # seconds to write $mib MiB into the page cache (no sync)
  local start end ms
  start=$(date +%s%N)
  dd if=/dev/zero of="$1" bs=1M count="$mib" status=none
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  printf "%d.%02d" $((ms / 1000)) $(((ms % 1000) / 10))
}
for d in /sys/bus/virtio/devices/*; do
  if [[ -f $d/device && $(cat "$d/device") == 0x0005 ]]; then
    bits=$(cat "$d/features")
    echo "virtio-balloon: free page reporting ${bits:5:1} (feature bit 5: 1 = on)"
  fi
done
echo "writing $mib MiB to new files, keeping each:"
for i in 1 2 3; do echo "  file $i: $(write "$dir/keep$i") s"; done
rm -f "$dir"/keep*
echo "the files removed; writing $mib MiB again, into the memory just freed:"
for i in 4 5; do
  echo "  file $i: $(write "$dir/again$i") s"
  rm -f "$dir/again$i"
done
