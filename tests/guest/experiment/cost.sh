#!/bin/bash
# Scenario 5: what mhp_online and the memmap-chains tracer cost. In ONE guest
# boot, ROUNDS rounds of three phases: stock (nothing loaded), module
# (mhp_online with its defaults), module + tracer (memmap-chains pinned).
# Each phase hot-adds PER_PHASE DIMMs of DIMM_MIB with auto-onlining and
# measures, from the first request until every block is online and the
# guest has settled, the guest CPU time spent (cpu_window_* in lib.sh) and
# the wall time. The host runs this guest with scripts/guest --icount, so
# the CPU time counts guest instructions and host load does not enter it;
# the wall time includes QMP round trips and is reported beside it.
# Nothing is unplugged between phases (what stays plugged would differ per
# phase), so the guest grows by ROUNDS x 3 x PER_PHASE DIMMs and later
# phases do more work: odd rounds run stock, module, tracer, even rounds
# the reverse, so that this drift hits all three alike. Throughput in GiB
# per CPU second and per wall second per phase; the host report gives the
# ratios to stock within each round (median over rounds).
# Environment: DIMM_MIB (1024), PER_PHASE (2), ROUNDS (3).
. /mhp/lib.sh
. /mhp/tests/experiment/lib.sh
DIMM_MIB=${DIMM_MIB:-1024}
PER_PHASE=${PER_PHASE:-2}
ROUNDS=${ROUNDS:-3}
exp_begin cost

have_mod=0
[ -f /mhp/mhp_online.ko ] && have_mod=1
have_trace=0
[ -x /mhp/memmap-chains ] && [ $have_mod = 1 ] && have_trace=1
[ $have_mod = 1 ] || tap_skip cost-module "not run: mhp_online.ko is missing (module not built)"
[ $have_trace = 1 ] || tap_skip cost-tracer "not run: memmap-chains or the module is missing"
[ -r /proc/timer_list ] || { tap_fail cost "no /proc/timer_list: cannot measure CPU time"; exit 0; }
cpu_busy_calibrate
metric busy-read-us $((CPU_BUSY_READ_NS / 1000))

# phase NAME ROUND: one measured hot-add of PER_PHASE DIMMs.
phase() {
	local name=$1 r=$2 i id want t0 t1 s mib=$((DIMM_MIB * PER_PHASE)) try
	for ((try = 0; try < 3; try++)); do
		want=$(($(memtotal_kb) + mib * 1024))
		nap 2
		cpu_window_start
		t0=$EPOCHREALTIME
		for ((i = 0; i < PER_PHASE; i++)); do
			id=$(host dimm-add "${DIMM_MIB}M") || { tap_fail "cost-$name-$r" "DIMM $i of $DIMM_MIB MiB not added"; return 1; }
			EXP_DIMMS+=("$id")
		done
		memtotal_wait "$want" 600 || { tap_fail "cost-$name-$r" "hot-added memory not online after 600 s"; return 1; }
		t1=$EPOCHREALTIME
		nap 0.5
		cpu_window_end
		[ "$CPU_WINDOW_NS" -ge 0 ] && break
		# A misread window: this phase's DIMMs stay, the next try adds more.
		metric "r$r-$name-misreads" $((try + 1))
	done
	[ "$CPU_WINDOW_NS" -ge 0 ] || { tap_fail "cost-$name-$r" "3 misreads of /proc/timer_list"; return 1; }
	# Computed outside the window: awk would be a fork inside it.
	s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }')
	metric "r$r-$name-seconds" "$s"
	metric "r$r-$name-gibs" "$(awk -v s="$s" -v m=$mib 'BEGIN { printf "%.4f\n", m / 1024 / s }')"
	metric "r$r-$name-cpu-ms" "$(awk -v n="$CPU_WINDOW_NS" 'BEGIN { printf "%.3f\n", n / 1e6 }')"
	metric "r$r-$name-cpu-gibs" "$(awk -v n="$CPU_WINDOW_NS" -v m=$mib 'BEGIN { printf "%.4f\n", m / 1024 / (n / 1e9) }')"
}

# Detach with the guest idle and pause after (under TCG a detach racing a
# vCPU inside the patched tracepoints once ended in an int3 oops).
trace_off() {
	[ -e /sys/fs/bpf/memmap-chains/links ] || return 0
	sleep 1
	exp_trace_stop
	sleep 2
}

# enter NAME: load or unload what phase NAME runs with; 1 if it cannot
# run, 2 if the guest is in no state to go on.
enter() {
	case $1 in
	stock)
		trace_off
		if grep -q '^mhp_online ' /proc/modules; then
			mhp_unload || { tap_fail cost-unload "rmmod failed"; return 2; }
		fi
		;;
	module | tracer)
		[ $have_mod = 1 ] || return 1
		[ "$1" = module ] && trace_off
		if ! grep -q '^mhp_online ' /proc/modules; then
			mhp_load || { tap_fail cost-load "insmod failed"; return 2; }
		fi
		if [ "$1" = tracer ]; then
			[ $have_trace = 1 ] || return 1
			if [ ! -e /sys/fs/bpf/memmap-chains/links ]; then
				why=$(exp_trace_start) || { tap_skip "cost-tracer" "not run: $why"; return 1; }
				sleep 2
			fi
		fi
		;;
	esac
	return 0
}

for ((r = 1; r <= ROUNDS; r++)); do
	order="stock module tracer"
	[ $((r % 2)) = 0 ] && order="tracer module stock"
	for ph in $order; do
		rc=0
		enter "$ph" || rc=$?
		[ $rc = 2 ] && break 2
		[ $rc = 0 ] || continue
		phase "$ph" "$r" || break 2
	done
done
trace_off
if grep -q '^mhp_online ' /proc/modules; then
	mhp_unload || tap_fail cost-unload "rmmod failed"
fi
metric rounds "$ROUNDS"
metric dimm-mib "$DIMM_MIB"
metric per-phase "$PER_PHASE"
tap_ok cost "$ROUNDS rounds"
