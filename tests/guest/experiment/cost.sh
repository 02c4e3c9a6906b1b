#!/bin/bash
# Scenario 5: what mhp_online and the memmap-chains tracer cost. In ONE guest
# boot, ROUNDS rounds of three phases: stock (nothing loaded), module
# (mhp_online with its defaults), module + tracer (memmap-chains pinned).
# Each phase hot-adds PER_PHASE DIMMs of DIMM_MIB with auto-onlining and
# times from the first request until every block is online. Nothing is
# unplugged between phases (what stays plugged would differ per phase), so
# the guest grows by ROUNDS x 3 x PER_PHASE DIMMs; rounds interleave the
# phases so that growth and any drift of the host's load hit all three
# alike. Throughput in GiB/s
# per phase; the host report gives the ratios to stock (median over rounds).
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

# phase NAME ROUND: one timed hot-add of PER_PHASE DIMMs.
phase() {
	local name=$1 r=$2 s
	EXP_DIMMS=()
	if ! exp_grow dimm $((DIMM_MIB * PER_PHASE)) "$DIMM_MIB" >/tmp/grow.err; then
		tap_fail "cost-$name-$r" "$(cat /tmp/grow.err)"
		return 1
	fi
	s=$EXP_GROW_S
	metric "r$r-$name-seconds" "$s"
	metric "r$r-$name-gibs" "$(awk -v s="$s" -v m=$((DIMM_MIB * PER_PHASE)) 'BEGIN { printf "%.4f\n", m / 1024 / s }')"
}

for ((r = 1; r <= ROUNDS; r++)); do
	phase stock "$r" || break
	if [ $have_mod = 1 ]; then
		mhp_load || { tap_fail cost-load "insmod failed"; break; }
		phase module "$r" || break
		if [ $have_trace = 1 ]; then
			if why=$(exp_trace_start); then
				phase tracer "$r" || break
				exp_trace_stop
			else
				tap_skip "cost-tracer-$r" "not run: $why"
			fi
		fi
		mhp_unload || { tap_fail cost-unload "rmmod failed"; break; }
	fi
done
metric rounds "$ROUNDS"
metric dimm-mib "$DIMM_MIB"
metric per-phase "$PER_PHASE"
tap_ok cost "$ROUNDS rounds"
