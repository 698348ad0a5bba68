#!/bin/bash
# crit and the guard image: dump a real guarded process tree with the real criu
# and the plugin, decode its guard-regions image with the patched tree's
# crit (the JSON must hold the ranges the workload installed), encode the
# JSON again and compare the bytes with what the plugin wrote.
#
#   crit-roundtrip.sh CRIU CRIT PLUGIN_DIR WORKLOAD
set -euo pipefail

criu=$1
crit=$2
plugin_dir=$3
workload=$4
python=/usr/bin/python3

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "criu dump needs root"
# In a PID namespace of our own, whose init (this script) reaps the
# workload's child when criu kills the tree: PID 1 here does not
if [ -z "${CRIT_ROUNDTRIP_NS-}" ]; then
	CRIT_ROUNDTRIP_NS=1 exec unshare --pid --fork --mount-proc "$0" "$@"
fi
"$python" -c 'import google.protobuf' 2>/dev/null || skip "$python has no protobuf module (python3-protobuf)"

tmp=$(mktemp -d /tmp/crit-roundtrip.XXXXXX)
child=
cleanup()
{
	[ -z "$child" ] || kill -9 "$child" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"
mkdir img

# Its own session, so that criu dumps it alone; our child, so that we reap it
setsid "$workload" >ready </dev/null 2>workload.log &
child=$!
for _ in $(seq 100); do
	[ -s ready ] && break
	sleep 0.1
done
read -r pid addr child_pid <ready || fail "the workload did not get ready: $(cat workload.log)"

"$criu" dump -t "$pid" -D img --libdir "$plugin_dir" -o dump.log -v4 ||
	fail "criu dump failed: $(tail -n 20 img/dump.log)"
wait "$child" 2>/dev/null || true
child=
parent_img=img/guard-regions-$pid.img
child_img=img/guard-regions-$child_pid.img
for img in "$parent_img" "$child_img"; do
	[ -f "$img" ] || fail "no $img: $(ls img)"
	echo "== $crit decode -i $img --pretty"
	"$crit" decode -i "$img" --pretty -o "$img.pretty.json" || fail "crit decode --pretty of $img failed"
	cat "$img.pretty.json"
	echo
	"$crit" decode -i "$img" -o "$img.plain.json" || fail "crit decode of $img failed"
done

# The guards of crit-workload.c, as the decoded images say: the parent's
# set, and the child's as the difference from it (removals, additions)
"$python" - "$addr" "$pid" "$child_pid" "$parent_img.pretty.json" "$child_img.pretty.json" <<'PY' ||
import json, sys

addr, pid, child = int(sys.argv[1], 16), int(sys.argv[2]), int(sys.argv[3])
parent, kid = (json.load(open(f)) for f in sys.argv[4:6])


def pages(entry):
    """Page numbers (from the VMA's start) of an entry's ranges"""
    assert entry["vma_start"] == addr, "ranges of another VMA: %s" % entry
    out, pos = set(), (entry["origin"] - addr) >> 12
    pairs = entry["pages"]
    for gap, length in zip(pairs[0::2], pairs[1::2]):
        out |= set(range(pos + gap, pos + gap + length))
        pos += gap + length
    return out


def guards(img, base=frozenset()):
    assert img["magic"] == "GUARD_REGIONS", img["magic"]
    head, have = img["entries"][0], set(base)
    for e in img["entries"][1:]:
        have = have - pages(e) if e.get("remove") else have | pages(e)
    return head, have


head, mine = guards(parent)
assert head["pid"] == pid and head["nr_ranges"] == 3 and head["nr_pages"] == 4, head
assert mine == {2, 5, 6, 10}, "parent: pages %s" % sorted(mine)
head, theirs = guards(kid, mine)
assert head["pid"] == child and head.get("parent") == pid, "child's head: %s" % head
assert theirs == {5, 6, 10, 13}, "child: pages %s" % sorted(theirs)
print("ok: the parent's image holds pages 2, 5-6 and 10; the child's, as the difference, 5-6, 10 and 13")
PY
	fail "the decoded images do not hold the workload's guards"

for img in "$parent_img" "$child_img"; do
	for json in pretty plain; do
		"$crit" encode -i "$img.$json.json" -o "$img.$json.img" || fail "crit encode of $img.$json.json failed"
		cmp "$img" "$img.$json.img" || fail "crit encode of the $json decoding differs from $img"
		echo "ok: decode ($json) then encode gives $img byte for byte ($(stat -c %s "$img") bytes)"
	done
done
img=$parent_img
count=$("$crit" info "$img" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["count"])')
[ "$count" = 1 ] || fail "crit info counts $count ranges entries, expected 1"
echo "ok: crit info: 1 ranges entry"
