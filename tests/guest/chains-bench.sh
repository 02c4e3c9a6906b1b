#!/bin/bash
# Overhead benchmark of memmap-chains (not part of make check): hot-add and
# online 4 GiB (one DIMM, auto-onlined) with the tracer attached (default
# options) and without, in the same boot: one untimed warm-up, then 8 timed
# adds in the order off/on/on/off/off/on/on/off so a drift over the run
# (later adds are slower) cancels. Metrics: overhead-ratio = median traced /
# median untraced wall time (the target is at most 1.05; under TCG
# on a shared host single samples vary by tens of percent, so this ratio is
# noisy), and bpf-share = time spent in the tracer's BPF programs
# (kernel.bpf_stats_enabled run_time_ns) / traced wall time, which is exact.
# Attach and detach happen with the guest idle, with a pause after: under
# TCG a detach that unpatched the kmem tracepoints while another vCPU ran
# them once ended in an "Oops: int3" (a stale breakpoint of the jump-label
# patching, an emulator effect).
# mhp-guest: --mem 1G --maxmem 40G --append "memhp_default_state=online"
# mhp-timeout: 600
. /mhp/lib.sh
. /mhp/tests/chains-lib.bash

SIZE=4G

# A pipe nobody writes to: "read -t" on it is a sleep without a fork, so the
# polling below allocates next to nothing and does not feed the tracepoints.
exec {nap}<> <(:)

# add_timed: microseconds from the hot-add request until every block is online.
add_timed() {
	local t0 t1 id n st
	t0=${EPOCHREALTIME/./}
	id=$(dimm_add $SIZE) || return 1
	for n in $(dimm_blocks "$id"); do
		while read -r st <"$MHP_SYS_MEM/memory$n/state" && [ "$st" != online ]; do
			read -rt 0.01 -u $nap _ || true
		done
	done
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0))
}

# bpf_runtime_ns: run_time_ns summed over our loaded programs (names mc_*,
# fe_/fx_/kp_/kr_*); counted before each detach, which unloads them.
bpf_runtime_ns() {
	/mhp/bpftool -j prog show | jq '[.[] | select(.name | test("^(mc|fe|fx|kp|kr)_"))
		| .run_time_ns // 0] | add // 0'
}

bpf_runs() {
	/mhp/bpftool -j prog show | jq '[.[] | select(.name | test("^(mc|fe|fx|kp|kr)_"))
		| .run_cnt // 0] | add // 0'
}

"$MC" --reset
sysctl -qw kernel.bpf_stats_enabled=1
bpf_ns=0
bpf_cnt=0
add_timed >/dev/null || { tap_fail hot-add "dimm_add $SIZE failed"; exit 0; }
off=0
on=0
off_list=""
on_list=""
for mode in off on on off off on on off; do
	if [ $mode = on ] && [ ! -e /sys/fs/bpf/memmap-chains/links ]; then
		sleep 1
		"$MC" --pin >/dev/null || { tap_fail tracer-pin "cannot attach"; exit 0; }
		sleep 2
	elif [ $mode = off ] && [ -e /sys/fs/bpf/memmap-chains/links ]; then
		sleep 1
		bpf_ns=$((bpf_ns + $(bpf_runtime_ns)))
		bpf_cnt=$((bpf_cnt + $(bpf_runs)))
		"$MC" --unpin
		sleep 2
	fi
	us=$(add_timed) || { tap_fail hot-add "dimm_add $SIZE failed"; exit 0; }
	note "tracer $mode: $SIZE hot-add + online in $us us"
	if [ $mode = on ]; then
		on=$((on + us))
		on_list="$on_list $us"
	else
		off=$((off + us))
		off_list="$off_list $us"
	fi
done
"$MC" --summary | head -3
if [ -e /sys/fs/bpf/memmap-chains/links ]; then
	bpf_ns=$((bpf_ns + $(bpf_runtime_ns)))
	bpf_cnt=$((bpf_cnt + $(bpf_runs)))
fi
median() {
	sort -n | awk '{ v[NR] = $1 }
		END { printf "%d\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
off_med=$(echo "$off_list" | tr ' ' '\n' | sed '/^$/d' | median)
on_med=$(echo "$on_list" | tr ' ' '\n' | sed '/^$/d' | median)
ratio=$(awk -v a="$on_med" -v b="$off_med" 'BEGIN { printf "%.3f", a / b }')
share=$(awk -v a="$bpf_ns" -v b="$on" 'BEGIN { printf "%.5f", a / 1000 / b }')
[ "$bpf_ns" -gt 0 ] || tap_fail bpf-stats "no BPF run time recorded"
metric untraced-median-us "$off_med"
metric traced-median-us "$on_med"
metric overhead-ratio "$ratio"
metric bpf-runtime-us "$((bpf_ns / 1000))"
metric bpf-share "$share"
metric bpf-runs "$bpf_cnt"
if awk -v r="$share" 'BEGIN { exit !(r <= 0.05) }'; then
	tap_ok bpf-time-within-5pct "BPF programs took $share of the traced hot-add time"
else
	tap_fail bpf-time-within-5pct "BPF programs took $share of the traced hot-add time"
fi
if awk -v r="$ratio" 'BEGIN { exit !(r <= 1.05) }'; then
	tap_ok wall-ratio-within-5pct "median ratio $ratio"
else
	tap_fail wall-ratio-within-5pct "median ratio $ratio > 1.05 (noisy under TCG, see bpf-share)"
fi
