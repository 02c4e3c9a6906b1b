#!/bin/bash
# What the pinned tracer costs everything else (benchmark, not part of
# make check): every page allocation and free in the VM runs its programs,
# all the time, while it matters only at hot-add and unplug. Fixed amounts
# of page-allocation-heavy work run with the tracer pinned and not, in one
# boot, side by side:
#   mhp-workload  one allocating round: 64 MiB anonymous memory, 2000 tmpfs
#                 files (shmem pages, dentries, inodes), 16 MiB of page
#                 tables, then exit (everything freed);
#   vm            stress-ng --vm: mmap, touch, munmap a 32 MiB area;
#   fault         stress-ng --fault: minor and major page faults.
# Two phases, each with a hot-added 128 MiB DIMM traced first, so the
# programs are past their early return (no traced block yet) as they are
# in a VM that uses the tracer:
#   movable  the DIMM onlined to ZONE_MOVABLE (online_movable, or a zone
#            policy of mhp_online that made it MOVABLE): the workloads'
#            kernel pages stay in boot memory, below every traced block;
#   normal   then a second DIMM onlined to the kernel zone (the stock
#            kernel's default): the kernel prefers it for its own pages, so
#            most of the workloads' kernel pages land in a traced block and
#            the tracer records each (a pin) and takes it back at its free.
#
# What is measured: guest CPU time of each run (cpu_window_*, idle excluded)
# under scripts/guest --icount, i.e. guest instructions, which host load
# does not change. Order per workload: ROUNDS x (off off on on on on off
# off); the tracer is pinned and unpinned between samples (its state stays
# pinned, so the traced blocks stay traced). Metrics per phase and
# workload: PHASE-WORKLOAD-throughput-ratio = median untraced CPU / median
# traced CPU (1 = free; target at least 0.99), and PHASE-throughput-ratio
# over the three summed.
# mhp-guest: --mem 1G --maxmem 2G --icount 0 --append "memhp_default_state=online"
# mhp-timeout: 2400
. /mhp/lib.sh
. /mhp/tests/chains-lib.bash

ROUNDS=${ROUNDS:-3}
WORKLOADS="mhp-workload vm fault"

run_workload() {
	case "$1" in
	mhp-workload)
		/mhp/mhp-workload --anon-mb 64 --files 2000 --tables-mb 16 --procs 1 \
			--seconds 0 --dir /tmp/cost >/dev/null ;;
	vm) stress-ng --vm 1 --vm-bytes 32M --vm-ops 64 --quiet ;;
	fault) stress-ng --fault 1 --fault-ops 2000 --quiet ;;
	esac
}

# sample WORKLOAD: guest CPU ns of one run, -1 on a misread.
sample() {
	mkdir -p /tmp/cost
	sync
	echo 3 >/proc/sys/vm/drop_caches
	nap 1
	cpu_window_start
	run_workload "$1" || echo "workload $1 failed" >&2
	cpu_window_end
	rm -rf /tmp/cost
	echo "$CPU_WINDOW_NS"
}

[ -r /proc/timer_list ] || { tap_fail timer-list "no /proc/timer_list: cannot measure CPU time"; exit 0; }
cpu_busy_calibrate
tap_check tracer-pin mc_start

# phase NAME: every workload, ROUNDS x (off off on on on on off off).
phase() {
	local name=$1 w mode try cpu off_list on_list off_med on_med ratio order=""
	local sum_off=0 sum_on=0 r
	mc_switch off
	for ((r = 0; r < ROUNDS; r++)); do
		order="$order off off on on on on off off"
	done
	for w in $WORKLOADS; do
		sample "$w" >/dev/null # warm-up
		off_list=""
		on_list=""
		for mode in $order; do
			mc_switch "$mode" || { tap_fail tracer-pin "cannot attach"; exit 0; }
			for ((try = 0; try < 3; try++)); do
				cpu=$(sample "$w")
				[ "$cpu" -ge 0 ] && break
			done
			[ "$cpu" -ge 0 ] || { tap_fail cpu-time "3 misreads in a row"; exit 0; }
			if [ "$mode" = on ]; then on_list="$on_list $cpu"; else off_list="$off_list $cpu"; fi
		done
		off_med=$(echo "$off_list" | median)
		on_med=$(echo "$on_list" | median)
		sum_off=$((sum_off + off_med))
		sum_on=$((sum_on + on_med))
		ratio=$(awk -v a="$off_med" -v b="$on_med" 'BEGIN { printf "%.4f", a / b }')
		note "$name $w: untraced CPU us [$(for c in $off_list; do printf ' %d' $((c / 1000)); done) ]," \
			"traced [$(for c in $on_list; do printf ' %d' $((c / 1000)); done) ]"
		metric "$name-$w-untraced-median-cpu-us" $((off_med / 1000))
		metric "$name-$w-traced-median-cpu-us" $((on_med / 1000))
		metric "$name-$w-throughput-ratio" "$ratio"
	done
	mc_switch off
	ratio=$(awk -v a="$sum_off" -v b="$sum_on" 'BEGIN { printf "%.4f", a / b }')
	metric "$name-throughput-ratio" "$ratio"
	note "$name: tracer stats after the runs:" \
		"$("$MC" --summary --json | jq -c '.stats | {kernel_allocs, frees, nested_allocs, nested_frees}')"
	if awk -v r="$ratio" 'BEGIN { exit !(r >= 0.99) }'; then
		tap_ok "$name-throughput-within-1pct" "untraced/traced guest CPU over the three workloads: $ratio"
	else
		tap_fail "$name-throughput-within-1pct" "untraced/traced guest CPU over the three workloads: $ratio"
	fi
}

# add_traced HOW: a 128 MiB DIMM auto-onlined with HOW while the tracer is
# pinned (so that it is traced); sets TRACED to its blocks and their zone.
add_traced() {
	local id n
	mc_switch on || { tap_fail tracer-pin "cannot attach"; exit 0; }
	echo "$1" >/sys/devices/system/memory/auto_online_blocks
	id=$(dimm_add 128M) || { tap_fail hot-add "dimm_add 128M failed"; exit 0; }
	echo online >/sys/devices/system/memory/auto_online_blocks
	TRACED=""
	for n in $(dimm_blocks "$id"); do
		TRACED+="$n ($(blk_zone "$n")) "
	done
}

add_traced online_movable
note "movable phase, traced block: $TRACED"
phase movable
add_traced online
note "normal phase, traced block: $TRACED"
phase normal
