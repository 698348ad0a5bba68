#!/bin/bash
# Run CRIU's own test suite (zdtm) from the patched CRIU tree, with and
# without the guard plugin, and print a table: test | flavor | mode | plugin |
# result.
#
#   run.sh CRIU_TREE PLUGIN_SO OUTDIR
#
#   CRIU_TREE  the patched CRIU 4.2.1 source tree (build/criu-patches/criu-4.2.1)
#   PLUGIN_SO  build/plugin/guard_plugin.so
#   OUTDIR     where zdtm's logs and TAP reports go
#
# What runs, in zdtm's h flavor unless said otherwise:
#   * maps12 (upstream's guard test) and our guard_* tests with the plugin:
#     plain, --page-server, --lazy-pages (if the kernel has uffd-noncoop) and
#     --iters $ZDTM_GUARD_ITERS (several C/R cycles in one run); our guard_*
#     tests also in the ns and uns flavors (maps12's .desc allows only h);
#   * the same tests without any plugin: CRIU's own guard support, which
#     with the series' core fixes restores locked VMAs with guards too;
#   * a regression set of upstream tests that touch memory, threads and
#     forking, without and with the plugin; those that upstream restricts to
#     the ns/uns flavors run in ns and in uns.
#
# ZDTM_GUARD_ITERS (default 3) sets the C/R cycles of the --iters run.
#
# It fails when a guard test fails with the plugin in any mode or without
# it, or when the regression tests that pass with the plugin are not exactly
# those that pass without it. Exit status 77 (skip) when not root.
#
# Runs "without the plugin" point CRIU_LIBS_DIR at an empty directory: the
# patched criu would otherwise load an installed plugin from its default
# plugin directory.
set -uo pipefail

tree=$(realpath "$1")
plugin=$(realpath "$2")
outdir=$(realpath -m "$3")
iters=${ZDTM_GUARD_ITERS:-3}
zdtm_timeout=${ZDTM_TIMEOUT:-900}

GUARD_TESTS_OURS=(
	guard_mlock guard_cow guard_threads guard_many guard_shared guard_split guard_none
)
GUARD_TESTS=(maps12 "${GUARD_TESTS_OURS[@]}")

# Upstream tests that touch memory (maps*, cow*, mlock, mprotect, shm,
# memfd, vdso, FPU/SSE state), threads and forking (pthread*, futex,
# vfork, zombie*, sessions, subreapers).
REGRESSION_TESTS=(
	maps00 maps01 maps02 maps03 maps04 maps05 maps06 maps09 maps10 maps11
	maps_file_prot grow_map02 grow_map03 mem-touch thp_disable
	cow00 cow01 mlock_setuid mprotect00
	mmx00 sse00 sse20 fpu00 fpu01 fpu02 fpu03
	shmemfd shmemfd-priv memfd00 memfd01 memfd02 memfd03
	unlink_mmap00 unlink_mmap01 unlink_mmap02 mtime_mmap
	thread_different_uid_gid pthread00 pthread01 pthread_timers futex futex-rl
	vdso00 vdso01 vdso02 vdso-proxy sigaltstack
	vfork00 clone_fs zombie00 zombie01
	wait00 pid00 busyloop00 sleeping00 pdeath_sig child_subreaper
)
# The same families, restricted to the ns and uns flavors by their .desc
REGRESSION_TESTS_NS=(
	shm shm-unaligned shm-mp zombie_leader helper_zombie_child session00
)

# Tests of the families above that are left out, and why. Keep in sync with
# docs/zdtm.md.
SKIPPED=(
	"zdtm/static/grow_map|dies of SIGSEGV before any C/R on this kernel (also with --nocr); upstream marks it noauto"
	"zdtm/static/pthread02|a thread group whose leader has exited: CRIU cannot seize it ('Unable to interrupt task'); upstream marks it noauto"
	"regression tests of the h list in flavors ns, uns|not run, to keep CI short (the ns/uns-only ones do run in ns and uns)"
	"guard tests in ns, uns with --page-server, --lazy-pages, --iters|not run, to keep CI short: those modes run in h"
	"zdtm/static/maps12 in flavors ns, uns|its .desc (upstream) restricts it to h"
	"--pre, --snaps, --dedup|need soft-dirty memory tracking, which this kernel lacks (criu check: dirty tracking is off)"
)

results=$outdir/results.tsv
failed=0

log()
{
	echo "zdtm: $*" >&2
}

# run_zdtm LABEL FLAVOR MODE PLUGIN TEST...: one zdtm run, results appended
# to $results
run_zdtm()
{
	local label=$1 flavor=$2 mode=$3 plug=$4
	shift 4
	local args=(-f "$flavor" --keep-going --report "$outdir/$label") t start rc tap

	case $mode in
	plain) ;;
	page-server) args+=(--page-server) ;;
	lazy-pages) args+=(--lazy-pages) ;;
	iters=*) args+=(--iters "${mode#iters=}") ;;
	*) log "unknown mode $mode"; return 1 ;;
	esac
	local env=(CRIU_LIBS_DIR="$outdir/no-plugins")
	[ "$plug" = on ] && args+=(--criu-plugin guard) && env=()
	for t in "$@"; do
		args+=(-t "zdtm/static/$t")
	done

	rm -rf "${outdir:?}/${label:?}"
	start=$SECONDS
	log "$label: $# tests, flavor $flavor, mode $mode, plugin $plug"
	env "${env[@]}" timeout -k 30 "$zdtm_timeout" ./zdtm.py run "${args[@]}" >"$outdir/$label.log" 2>&1
	rc=$?
	log "$label: zdtm exit status $rc, $((SECONDS - start)) s, log $outdir/$label.log"

	tap=$outdir/$label/criu-testreport.tap
	for t in "$@"; do
		local line res

		line=$(grep -E "^(not )?ok [0-9]+ - zdtm/static/$t( |\$)" "$tap" 2>/dev/null | tail -n 1)
		case $line in
		"") res="FAIL (no result: zdtm exited with $rc)" ;;
		"not ok"*) res=FAIL ;;
		*"# SKIP"*) res="SKIP (${line#*# SKIP })" ;;
		*) res=PASS ;;
		esac
		printf '%s\t%s\t%s\t%s\t%s\n' "zdtm/static/$t" "$flavor" "$mode" "$plug" "$res" >>"$results"
	done
}

# result_of TEST FLAVOR MODE PLUGIN
result_of()
{
	awk -F'\t' -v t="zdtm/static/$1" -v f="$2" -v m="$3" -v p="$4" \
		'$1 == t && $2 == f && $3 == m && $4 == p { print $5 }' "$results"
}

pipe_max_old=
restore_pipe_max()
{
	if [ -n "$pipe_max_old" ]; then
		echo "$pipe_max_old" >/proc/sys/fs/pipe-max-size
		log "fs.pipe-max-size restored to $pipe_max_old"
		pipe_max_old=
	fi
}
trap restore_pipe_max EXIT
trap 'restore_pipe_max; exit 130' INT TERM

prepare()
{
	if [ "$(id -u)" != 0 ]; then
		echo "zdtm: needs root (CRIU dump/restore of other users' tasks)"
		exit 77
	fi
	# zdtm runs on Debian's Python, which has python3-yaml and
	# python3-protobuf; test/zdtm_ct runs "python3" from PATH.
	export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
	if ! python3 -c 'import yaml, google.protobuf' 2>/dev/null; then
		echo "zdtm: $(command -v python3) lacks yaml or protobuf: install python3-yaml python3-protobuf (scripts/install-deps.sh)"
		exit 1
	fi
	if [ ! -x "$tree/criu/criu" ] || [ ! -f "$plugin" ]; then
		echo "zdtm: build first: no $tree/criu/criu or $plugin"
		exit 1
	fi
	# pycriu (rpc_pb2.py) for zdtm.py
	if ! make -C "$tree" -j"$(nproc)" lib >"$outdir/make-lib.log" 2>&1; then
		tail -n 20 "$outdir/make-lib.log"
		echo "zdtm: make lib failed, see $outdir/make-lib.log"
		exit 1
	fi
	export CRIU_GUARD_PLUGIN=$plugin
}

run_all()
{
	local lazy=yes

	cd "$tree/test" || exit 1

	run_zdtm guard-plain h plain on "${GUARD_TESTS[@]}"
	run_zdtm guard-page-server h page-server on "${GUARD_TESTS[@]}"

	if ! "$tree/criu/criu" check --feature uffd-noncoop >"$outdir/uffd-check.log" 2>&1; then
		lazy="no: criu check --feature uffd-noncoop fails on this kernel"
	fi
	if [ "$lazy" = yes ]; then
		# CRIU asks for pipes larger than fs.pipe-max-size, which
		# needs CAP_SYS_RESOURCE: raise the limit for the run.
		pipe_max_old=$(cat /proc/sys/fs/pipe-max-size)
		if ! echo 8388608 >/proc/sys/fs/pipe-max-size; then
			log "can't raise fs.pipe-max-size; lazy-pages runs with $pipe_max_old"
			pipe_max_old=
		fi
		run_zdtm guard-lazy-pages h lazy-pages on "${GUARD_TESTS[@]}"
		restore_pipe_max
	else
		for t in "${GUARD_TESTS[@]}"; do
			printf '%s\t%s\t%s\t%s\t%s\n' "zdtm/static/$t" h lazy-pages on "SKIP ($lazy)" >>"$results"
		done
	fi

	run_zdtm guard-iters h "iters=$iters" on "${GUARD_TESTS[@]}"
	run_zdtm guard-ns ns plain on "${GUARD_TESTS_OURS[@]}"
	run_zdtm guard-uns uns plain on "${GUARD_TESTS_OURS[@]}"
	run_zdtm guard-plain-noplugin h plain off "${GUARD_TESTS[@]}"

	run_zdtm regression-noplugin h plain off "${REGRESSION_TESTS[@]}"
	run_zdtm regression-plugin h plain on "${REGRESSION_TESTS[@]}"
	run_zdtm regression-ns-noplugin ns plain off "${REGRESSION_TESTS_NS[@]}"
	run_zdtm regression-ns-plugin ns plain on "${REGRESSION_TESTS_NS[@]}"
	run_zdtm regression-uns-noplugin uns plain off "${REGRESSION_TESTS_NS[@]}"
	run_zdtm regression-uns-plugin uns plain on "${REGRESSION_TESTS_NS[@]}"
	LAZY=$lazy
}

verdict()
{
	local t f mode res off on both_fail=() differ=() npass=0 ntests=0

	# Guard tests: with the plugin, in every mode and flavor
	for t in "${GUARD_TESTS[@]/#/h:}" "${GUARD_TESTS_OURS[@]/#/ns:}" "${GUARD_TESTS_OURS[@]/#/uns:}"; do
		f=${t%%:*}
		t=${t#*:}
		for mode in plain page-server lazy-pages "iters=$iters"; do
			[ "$f" != h ] && [ "$mode" != plain ] && continue
			res=$(result_of "$t" "$f" "$mode" on)
			case $res in
			PASS) ;;
			SKIP*) [ "$mode" = lazy-pages ] && [ "$LAZY" != yes ] && continue
			       log "guard test $t skipped in flavor $f, mode $mode: $res"; failed=1 ;;
			*) log "guard test $t: $res in flavor $f, mode $mode with the plugin"; failed=1 ;;
			esac
		done
	done

	# Guard tests without any plugin: CRIU's own guard support
	for t in "${GUARD_TESTS[@]}"; do
		res=$(result_of "$t" h plain off)
		if [ "$res" != PASS ]; then
			log "guard test $t: $res without the plugin"
			failed=1
		fi
	done

	# Regression set: the same tests pass with and without the plugin
	for t in "${REGRESSION_TESTS[@]/#/h:}" "${REGRESSION_TESTS_NS[@]/#/ns:}" "${REGRESSION_TESTS_NS[@]/#/uns:}"; do
		f=${t%%:*}
		t=${t#*:}
		ntests=$((ntests + 1))
		off=$(result_of "$t" "$f" plain off)
		on=$(result_of "$t" "$f" plain on)
		if [ "$off" = PASS ] && [ "$on" = PASS ]; then
			npass=$((npass + 1))
		elif [ "$off" = PASS ] || [ "$on" = PASS ]; then
			differ+=("$t ($f; without plugin: $off, with plugin: $on)")
		else
			both_fail+=("$t ($f; without plugin: $off, with plugin: $on)")
		fi
	done

	echo
	echo "Regression set: $ntests runs (test x flavor), $npass pass with and without the plugin, ${#differ[@]} differ"
	for t in "${both_fail[@]}"; do
		echo "  does not pass in either mode: $t"
	done
	for t in "${differ[@]}"; do
		echo "  DIFFERS: $t"
		failed=1
	done
}

print_table()
{
	echo
	echo "zdtm results (logs and TAP reports in $outdir)"
	awk -F'\t' '
		BEGIN { fmt = "%-36s | %-6s | %-11s | %-6s | %s\n"
			printf fmt, "test", "flavor", "mode", "plugin", "result"
			printf fmt, "------------------------------------", "------", "-----------", "------", "------" }
		{ printf fmt, $1, $2, $3, $4, $5 }' "$results"

	echo
	echo "Not run, and why:"
	local s
	for s in "${SKIPPED[@]}"; do
		echo "  ${s%%|*}: ${s#*|}"
	done
	if [ "$LAZY" != yes ]; then
		echo "  --lazy-pages: $LAZY"
	fi
	awk -F'\t' '$5 ~ /^SKIP/ { printf "  %s (%s, %s, plugin %s): %s\n", $1, $2, $3, $4, $5 }' "$results"
}

main()
{
	local start=$SECONDS

	mkdir -p "$outdir" "$outdir/no-plugins"
	: >"$results"
	prepare
	run_all
	print_table
	verdict
	echo
	echo "zdtm: total $((SECONDS - start)) s"
	if [ "$failed" != 0 ]; then
		echo "zdtm: FAILED"
		exit 1
	fi
	echo "zdtm: OK"
}

main
