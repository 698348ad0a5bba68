#!/bin/bash
# criu-guard benchmarks: the patched CRIU with guard_plugin.so against stock
# CRIU 4.2.1 built from the same verified tarball, side by side, alternating
# the two systems on the same workloads. Run through scripts/bench.sh.
#
#   bench.sh [--quick] [--runs N] [--only mem,ranges,tree,threads,real] [--out FILE.md]
#            [--log-level N]
#
# criu runs at its default verbosity (2) for both systems: at -v3 CRIU 4.2.1
# logs one line per guard range (pr_vma of its fake VMAs), which would
# charge logging to stock. The plugin's per-task summary lines, which carry
# its discovery time, are logged at that level with CRIU_GUARD_SUMMARY=1.
#
# Writes the raw measurements (CSV), a Markdown report and a PNG plot.
# Needs root. Not part of `meson test`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build
B=$BUILD/bench
CRIU_SHA256=29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9

quick=0
runs=
only=mem,ranges,tree,threads,real
out=$ROOT/docs/bench-results.md
plot=
loglevel=2
args=("$@")

while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--runs) runs=$2; shift ;;
	--only) only=$2; shift ;;
	--out) out=$(realpath -m "$2"); shift ;;
	--plot) plot=$(realpath -m "$2"); shift ;;
	--log-level) loglevel=$2; shift ;;
	-h | --help)
		sed -n '2,16p' "$0"
		exit 0
		;;
	*)
		echo "bench: unknown option $1" >&2
		exit 2
		;;
	esac
	shift
done

if [ "$quick" = 1 ]; then
	: "${runs:=3}"
	MEM_SIZES=(256)
	RANGES=(1000 10000 100000)
	TREE=(16 10000)
	THREADS=(64 1000)
	out_default=$B/bench-results-quick.md
else
	: "${runs:=5}"
	# shellcheck disable=SC2206
	MEM_SIZES=(${CRIU_GUARD_BENCH_MEM:-1024 4096 8192})
	RANGES=(1000 10000 100000 300000 1000000)
	TREE=(16 100000)
	# glibc >= 2.42 guards every thread stack; JVM- and Go-like counts
	THREADS=(64 1000 10000)
	out_default=
fi
# a quick run does not overwrite the committed results unless asked to
if [ -n "$out_default" ] && [[ " ${args[*]} " != *" --out "* ]]; then
	out=$out_default
fi
: "${plot:=${out%.md}.png}"
[ "$out" = "$ROOT/docs/bench-results.md" ] && plot=$ROOT/docs/bench-overhead.png

log() { echo "bench: $*" >&2; }

# --- build (outer invocation) -------------------------------------------

# Stock CRIU 4.2.1 (scripts/criu-stock.sh, shared with the real-program
# suite's build) and stock plus only the rlimits patch, which stands in
# for stock on apache2 (stock cannot dump it here, see real-bench.py).
STOCK_DIR=$BUILD/tests/real/criu-stock
RLIMITS_TREE=$B/criu-stock-rlimits

build_stock()
{
	local patch stamp

	bash "$ROOT/scripts/criu-stock.sh" "$STOCK_DIR" >/dev/null || return 1
	patch=$(ls "$ROOT"/criu-patches/*-dump-read-rlimits-from-proc-PID-limits-*.patch)
	stamp="$CRIU_SHA256 $(sha256sum "$patch" | cut -d' ' -f1)"
	if [ "$(cat "$RLIMITS_TREE/.bench-stamp" 2>/dev/null)" != "$stamp" ]; then
		log "stock CRIU 4.2.1 + $(basename "$patch") only, into $RLIMITS_TREE"
		rm -rf "$RLIMITS_TREE" "$RLIMITS_TREE.tmp"
		cp -a "$STOCK_DIR/criu-4.2.1" "$RLIMITS_TREE.tmp"
		make -C "$RLIMITS_TREE.tmp" clean >/dev/null 2>&1 || true
		patch -d "$RLIMITS_TREE.tmp" -p1 -s <"$patch" || return 1
		echo "$stamp" >"$RLIMITS_TREE.tmp/.bench-stamp"
		mv "$RLIMITS_TREE.tmp" "$RLIMITS_TREE"
	fi
	make -C "$RLIMITS_TREE" -j"$(nproc)" criu >"$RLIMITS_TREE/.bench-build.log" 2>&1 || {
		tail -n 30 "$RLIMITS_TREE/.bench-build.log" >&2
		return 1
	}
}

build_all()
{
	local t

	cd "$ROOT"
	[ -d "$BUILD" ] || meson setup "$BUILD" >/dev/null
	log "building the patched CRIU and the plugin (meson)"
	meson compile -C "$BUILD" >/dev/null
	mkdir -p "$B"
	for t in bench-tool bench-workload bench-kernel; do
		cc -O2 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -I"$ROOT/kernel/include" \
			-o "$B/$t" "$ROOT/tests/bench/$t.c" -lpthread
	done
	build_stock
}

if [ -z "${CRIU_GUARD_BENCH_INNER:-}" ]; then
	[ "$(id -u)" = 0 ] || { log "needs root"; exit 1; }
	command -v gnuplot >/dev/null || log "gnuplot missing (scripts/install-deps.sh installs gnuplot-nox): no plot"
	build_all
	export CRIU_GUARD_BENCH_INNER=1
	# PID 1 may not reap: run under a subreaper that reaps every orphan
	exec "$B/bench-tool" reaper bash "$0" "${args[@]}"
fi

# --- measuring (inner invocation, under the reaper) ---------------------

# CRIU_GUARD_BENCH_CRIU: another patched criu binary, for experiments
PATCHED=${CRIU_GUARD_BENCH_CRIU:-$BUILD/criu/criu}
PLUGIN_DIR=$BUILD/plugin
STOCK=$STOCK_DIR/criu
STOCK_RLIMITS=$RLIMITS_TREE/criu/criu

mem_avail_kib() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }

# Images of the largest workload go to tmpfs if RAM holds the workload, its
# image and the restored copy with room to spare, else to disk.
max_mib=0
if [[ ",$only," == *",mem,"* ]]; then
	for m in "${MEM_SIZES[@]}"; do [ "$m" -gt "$max_mib" ] && max_mib=$m; done
fi
if [ "$(mem_avail_kib)" -gt $(((max_mib * 2 + 4096) * 1024)) ]; then
	WORK=$(mktemp -d /dev/shm/criu-guard-bench.XXXXXX)
	STORAGE="tmpfs (/dev/shm)"
else
	WORK=$(mktemp -d /var/tmp/criu-guard-bench.XXXXXX)
	STORAGE="disk (/var/tmp)"
fi
RESULTS_DIR=$(dirname "$out")
mkdir -p "$RESULTS_DIR"
CSV=$B/$(basename "${out%.md}").csv
live_pids=()

cleanup()
{
	local p

	for p in "${live_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_gone()
{
	local p i

	for p in "$@"; do
		for ((i = 0; i < 3000; i++)); do
			[ -e "/proc/$p" ] || break
			sleep 0.01
		done
		[ -e "/proc/$p" ] && { log "pid $p does not go away"; return 1; }
	done
	return 0
}

kill_tree()
{
	local p

	for p in "$@"; do kill -9 "$p" 2>/dev/null || true; done
	wait_gone "$@"
	live_pids=()
}

sum_scan()
{
	# prints "US RANGES" summed over the pids
	local us=0 r=0 p a b c d

	for p in "$@"; do
		read -r a b c d < <("$B/bench-tool" scan "$p")
		us=$((us + a))
		r=$((r + b))
	done
	echo "$us $r"
}

sum_count()
{
	# prints "RANGES PAGES" of guards summed over the pids (pagemap bit 58)
	local r=0 pg=0 p a b

	for p in "$@"; do
		read -r a b < <("$B/bench-tool" count "$p")
		r=$((r + a))
		pg=$((pg + b))
	done
	echo "$r $pg"
}

stat_field() { "$B/bench-tool" stats "$1" 2>/dev/null | awk -v k="$2" '$1 == k {print $2}'; }

sum_sizes()
{
	local s=0 f

	for f in "$@"; do [ -e "$f" ] && s=$((s + $(stat -c %s "$f"))); done
	echo $s
}

max_hwm()
{
	local m=0 p v

	for p in "$@"; do
		v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
		[ -n "$v" ] && [ "$v" -gt "$m" ] && m=$v
	done
	echo $m
}

# workload name -> bench-workload arguments and number of processes
wl_args()
{
	case $1 in
	mem) echo "mem $2" ;;
	ranges) echo "ranges $2" ;;
	tree) echo "tree ${TREE[0]} $2" ;;
	threads) echo "threads $2" ;;
	esac
}
wl_nproc() { [ "$1" = tree ] && echo "${TREE[0]}" || echo 1; }

# 10,000 threads: CRIU 4.2.1 takes ~100 s to restore them here (the same
# thread restore in both systems, nothing guard-related), so that workload
# is dumped only, and 3 times: discovery and freeze are what it measures.
dump_only() { [ "$1" = threads ] && [ "$2" -ge 10000 ]; }
wl_runs() { if dump_only "$1" "$2" && [ "$runs" -gt 3 ]; then echo 3; else echo "$runs"; fi; }

# One measurement: start the workload, time CRIU 4.2.1's discovery on it,
# dump it with one system, restore it with the same system, check it.
cycle()
{
	local wl=$1 param=$2 g=$3 sys=$4 run=$5
	local dir=$WORK/img ready=$WORK/ready nproc criu i
	local -a pids libdir=()
	local scan_us scan_r truth_r truth_p after_r after_p status=ok
	local dump_wall=0 dump_rss=0 rst_wall=0 rst_rss=0 hwm=0 freezing=0 frozen=0
	local pl_disc_us=0 pl_dump_us=0 pl_ranges=0 pl_rst_us=0 pl_madv=0 gimg=0 mmimg=0 k_scan_us k_inst_us

	rm -rf "$dir" "$ready"
	mkdir -p "$dir"
	nproc=$(wl_nproc "$wl")
	# shellcheck disable=SC2046
	"$B/bench-workload" "$ready" $(wl_args "$wl" "$param") "$g"
	for ((i = 0; ; i++)); do
		[ -f "$ready" ] && [ "$(wc -l <"$ready")" -ge "$nproc" ] && break
		((i < 30000)) || { log "workload $wl $param does not start"; return 1; }
		sleep 0.01
	done
	mapfile -t pids <"$ready"
	live_pids=("${pids[@]}")

	read -r truth_r truth_p < <(sum_count "${pids[@]}")
	read -r scan_us scan_r < <(sum_scan "${pids[@]}")
	# the kernel work alone, outside CRIU (see bench-kernel.c)
	k_scan_us=0 k_inst_us=0
	if [ "$g" = 1 ]; then
		read -r k_scan_us _ < <("$B/bench-kernel" scan "${pids[@]}")
		read -r k_inst_us _ < <("$B/bench-kernel" install "${pids[@]}")
	fi

	if [ "$sys" = plugin ]; then
		criu=$PATCHED
		libdir=(--libdir "$PLUGIN_DIR")
	else
		criu=$STOCK
	fi
	export CRIU_GUARD_SUMMARY=1

	if ! "$B/bench-tool" time "$dir/dump.time" "$criu" dump -t "${pids[0]}" -D "$dir" -o dump.log -v"$loglevel" "${libdir[@]}"; then
		status=dump-failed
		log "$sys: dump of $wl $param g=$g failed, log: $(grep Error "$dir/dump.log" | grep -v RLIMIT_NOFILE | head -n1 || true)"
		cp "$dir/dump.log" "$RESULTS_DIR/failed-dump-$wl-$param-$g-$sys.log" 2>/dev/null || true
		kill_tree "${pids[@]}"
	fi
	wait_gone "${pids[@]}"

	if [ "$status" = ok ]; then
		read -r dump_wall dump_rss <"$dir/dump.time"
		freezing=$(stat_field "$dir/stats-dump" freezing_time)
		frozen=$(stat_field "$dir/stats-dump" frozen_time)
		# "scanned X of Y VMAs (...) in S us, R guard ranges, ..., T us" per task
		read -r pl_disc_us pl_dump_us pl_ranges < <(grep -h 'guard_plugin: pid ' "$dir/dump.log" |
			sed -E 's/.* in ([0-9]+) us, ([0-9]+) guard ranges,.* ([0-9]+) us$/\1 \3 \2/' |
			awk '{s += $1; u += $2; r += $3} END {print s + 0, u + 0, r + 0}')
		gimg=$(sum_sizes "$dir"/guard-regions-*.img)
		mmimg=$(sum_sizes "$dir"/mm-*.img)

		if dump_only "$wl" "$param"; then
			:
		elif "$B/bench-tool" time "$dir/restore.time" "$criu" restore -d -D "$dir" -o restore.log -v"$loglevel" "${libdir[@]}"; then
			read -r rst_wall rst_rss <"$dir/restore.time"
			live_pids=("${pids[@]}")
			hwm=$(max_hwm "${pids[@]}")
			read -r after_r after_p < <(sum_count "${pids[@]}")
			[ "$after_r $after_p" = "$truth_r $truth_p" ] || status=guards-differ-$after_r-$after_p
			read -r pl_rst_us pl_madv < <(grep -h 'guard_plugin: vpid .* us$' "$dir/restore.log" |
				sed -E 's/.* ([0-9]+) madvise calls, ([0-9]+) us$/\2 \1/' |
				awk '{u += $1; m += $2} END {print u + 0, m + 0}')
			kill_tree "${pids[@]}"
		else
			status=restore-failed
			log "$sys: restore of $wl $param g=$g failed: $(grep Error "$dir/restore.log" | grep -v RLIMIT_NOFILE | head -n1 || true)"
			cp "$dir/restore.log" "$RESULTS_DIR/failed-restore-$wl-$param-$g-$sys.log" 2>/dev/null || true
			kill_tree "${pids[@]}"
		fi
	fi
	echo "$wl,$param,$g,$sys,$run,$truth_r,$truth_p,$scan_us,$scan_r,$pl_disc_us,$pl_dump_us,$pl_ranges,$freezing,$frozen,$dump_wall,$dump_rss,$rst_wall,$rst_rss,$hwm,$gimg,$mmimg,$pl_rst_us,$pl_madv,$k_scan_us,$k_inst_us,$status" >>"$CSV"
	printf 'bench: %-8s %8s g=%d %-6s run %d: scan %6d us, plugin %6d us, frozen %7d us, restore %7d us, %s\n' \
		"$wl" "$param" "$g" "$sys" "$run" "$scan_us" "$pl_disc_us" "$frozen" "$rst_wall" "$status" >&2
	rm -rf "$dir"
}

run_workload()
{
	local wl=$1 param=$2 r g n

	n=$(wl_runs "$wl" "$param")
	for ((r = 1; r <= n; r++)); do
		for g in 1 0; do
			# alternate which system goes first
			if ((r % 2)); then
				cycle "$wl" "$param" "$g" stock "$r"
				cycle "$wl" "$param" "$g" plugin "$r"
			else
				cycle "$wl" "$param" "$g" plugin "$r"
				cycle "$wl" "$param" "$g" stock "$r"
			fi
		done
	done
}

echo "workload,param,guards,system,run,guard_ranges,guard_pages,stock_scan_us,scan_ranges,plugin_discovery_us,plugin_dump_us,plugin_ranges,freezing_us,frozen_us,dump_wall_us,dump_rss_kib,restore_wall_us,restore_rss_kib,restored_hwm_kib,guard_img_bytes,mm_img_bytes,plugin_restore_us,plugin_madvise_calls,kernel_scan_us,kernel_install_us,status" >"$CSV"
log "images in $STORAGE: $WORK; $runs runs per measurement; raw data in $CSV"
t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)

# apache2 and redis from the real-program suite's rootfs, in a namespace of their own
run_real()
{
	local rootfs rc=0

	rootfs=$(bash "$ROOT/scripts/rootfs.sh") || rc=$?
	if [ $rc != 0 ]; then
		log "real programs skipped: no rootfs (scripts/rootfs.sh exit $rc)"
		return 0
	fi
	[ -f "$ROOT/tests/real/programs.py" ] || { log "real programs skipped: no tests/real/programs.py"; return 0; }
	mkdir -p "$WORK/real"
	(
		flock -s 8
		unshare --pid --fork --mount-proc --net --kill-child \
			/usr/bin/python3 -B "$ROOT/tests/bench/real-bench.py" --rootfs "$rootfs" --criu "$PATCHED" \
			--libdir "$PLUGIN_DIR" --stock "$STOCK" --stock-rlimits "$STOCK_RLIMITS" --runs "$runs" \
			--csv "$REAL_CSV" --tools "$B" --work "$WORK/real"
	) 8>"$rootfs.lock" || log "real programs: real-bench.py failed"
}

REAL_CSV=${CSV%.csv}-real.csv
rm -f "$REAL_CSV"
IFS=, read -r -a workloads <<<"$only"
for wl in "${workloads[@]}"; do
	case $wl in
	mem) for m in "${MEM_SIZES[@]}"; do run_workload mem "$m"; done ;;
	ranges) for n in "${RANGES[@]}"; do run_workload ranges "$n"; done ;;
	tree) run_workload tree "${TREE[1]}" ;;
	threads) for n in "${THREADS[@]}"; do run_workload threads "$n"; done ;;
	real) run_real ;;
	*) log "unknown workload $wl"; exit 2 ;;
	esac
done

log "measured in $(($(date +%s) - t_start)) s; writing $out"
/usr/bin/python3 "$ROOT/tests/bench/report.py" --csv "$CSV" --real-csv "$REAL_CSV" --out "$out" --plot "$plot" \
	--storage "$STORAGE" --runs "$runs" --tree-procs "${TREE[0]}" --criu-stock "$STOCK" --criu-patched "$PATCHED" --log-level "$loglevel" --commit "$commit" \
	--load "\`$load_start\` at the start, \`$(cut -d' ' -f1-3 /proc/loadavg)\` at the end"
