#!/bin/bash
# crit and the guard image: dump a real guarded process with the real criu
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
read -r pid addr <ready || fail "the workload did not get ready: $(cat workload.log)"

"$criu" dump -t "$pid" -D img --libdir "$plugin_dir" -o dump.log -v4 ||
	fail "criu dump failed: $(tail -n 20 img/dump.log)"
wait "$child" 2>/dev/null || true
child=
img=img/guard-regions-$pid.img
[ -f "$img" ] || fail "no $img: $(ls img)"

echo "== $crit decode -i $img --pretty"
"$crit" decode -i "$img" --pretty -o pretty.json || fail "crit decode --pretty failed"
cat pretty.json
echo
"$crit" decode -i "$img" -o plain.json || fail "crit decode failed"

# The ranges of crit-workload.c: gaps and lengths from the VMA's start
"$python" - "$addr" pretty.json <<'PY' || fail "the decoded image does not hold the workload's guards"
import json, sys

addr = int(sys.argv[1], 16)
img = json.load(open(sys.argv[2]))
head, ranges = img["entries"][0], img["entries"][1:]
want = {"vma_start": addr, "origin": addr, "pages": [2, 1, 2, 2, 3, 1]}
ok = (img["magic"] == "GUARD_REGIONS" and head["nr_ranges"] == 3 and head["nr_pages"] == 4 and
      head["page_shift"] == 12 and ranges == [want])
if not ok:
    print("expected magic GUARD_REGIONS, head with 3 ranges of 4 pages, ranges %s" % [want])
sys.exit(0 if ok else 1)
PY

for json in pretty plain; do
	"$crit" encode -i "$json.json" -o "$json.img" || fail "crit encode of $json.json failed"
	cmp "$img" "$json.img" || fail "crit encode of the $json decoding differs from $img"
	echo "ok: decode ($json) then encode gives $img byte for byte ($(stat -c %s "$img") bytes)"
done
count=$("$crit" info "$img" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["count"])')
[ "$count" = 1 ] || fail "crit info counts $count ranges entries, expected 1"
echo "ok: crit info: 1 ranges entry"
