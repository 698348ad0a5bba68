#!/bin/bash
# Build the libFuzzer target over the guard image decoder, validator and
# encoder with clang (-fsanitize=fuzzer,address,undefined) and run it.
#
#   tests/fuzz/run.sh SOURCE_ROOT BUILD_ROOT [SECONDS] [libFuzzer options...]
#
# meson's `fuzz` suite runs it for 60 s. The long run (docs/design.md):
#   nice -n 10 tests/fuzz/run.sh . build 1200 -jobs=2 -workers=2
# The committed seed corpus (tests/fuzz/corpus, images of real dumps) is
# only read; new inputs go to a scratch corpus under $TMPDIR, crashes to
# $TMPDIR/criu-guard-fuzz.*/ which is kept on failure. Exit 77 (skip) when
# clang cannot build fuzzers here.
set -euo pipefail

src=$(realpath "$1")
build=$(realpath "$2")
secs=${3:-60}
shift $(($# < 3 ? $# : 3))

cc=${CLANG:-clang}
if ! command -v "$cc" >/dev/null; then
	echo "SKIP: no clang (install clang and libclang-rt-14-dev: scripts/install-deps.sh)"
	exit 77
fi
flags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -std=gnu11)
probe=$(mktemp -d "${TMPDIR:-/tmp}/criu-guard-fuzz-probe.XXXXXX")
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$probe/p.c"
if ! "$cc" "${flags[@]}" "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
	echo "SKIP: $cc cannot link -fsanitize=fuzzer: $(head -n 1 "$probe/err")"
	rm -rf "$probe"
	exit 77
fi
rm -rf "$probe"

# The plugin's modules that do not need criu: guard_plugin_core_src, as
# plugin/meson.build lists them (the unit tests link the same)
core=$(sed -n '/^guard_plugin_core_src = files(/,/^)/p' "$src/plugin/meson.build" | grep -o "'[^']*\.c'" | tr -d "'")
out=$build/tests/fuzz
mkdir -p "$out"
"$cc" "${flags[@]}" \
	-I"$src/plugin" -I"$build/proto" -I"$build/criu-patches" -I"$src/kernel/include" \
	"$src/tests/fuzz/fuzz-image.c" \
	$(for f in $core; do echo "$src/plugin/$f"; done) \
	"$build"/proto/*.pb-c.c \
	$(pkg-config --cflags --libs libprotobuf-c) -o "$out/fuzz-image"

work=$(mktemp -d "${TMPDIR:-/tmp}/criu-guard-fuzz.XXXXXX")
mkdir "$work/corpus"
rc=0
"$out/fuzz-image" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
	-artifact_prefix="$work/" -print_final_stats=1 "$@" \
	"$work/corpus" "$src/tests/fuzz/corpus" >"$work/log" 2>&1 || rc=$?
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::number_of_executed_units|^stat::peak_rss|ERROR|SUMMARY' "$work/log" | head -n 20
if [ $rc -ne 0 ]; then
	tail -n 40 "$work/log"
	echo "fuzz: FAILED (exit $rc), inputs and log kept in $work"
	exit 1
fi
echo "fuzz: $(grep -c . <(ls "$work/corpus")) new corpus inputs, 0 crashes in ${secs} s"
rm -rf "$work"
