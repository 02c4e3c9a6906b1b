#!/bin/bash
# Overhead benchmark of memmap-chains (not part of make check): hot-add and
# online 4 GiB (one DIMM, auto-onlined) with the tracer attached (default
# options) and without, in the same boot, side by side.
#
# Every sample starts from the same state: the DIMM is offlined and removed
# again after each timed add, so the next add lands on the same addresses
# with the same amount of memory present. The blocks are onlined to
# ZONE_MOVABLE so that removal always succeeds (nothing unmovable can land
# there); their memmap is allocated from boot memory either way, which is
# the work the tracer records. A sample is the time from the device_add
# request until MemTotal has grown by the DIMM's size, polled every 2 ms
# without forking, so the tracer sees next to no allocations of our own.
#
# Order: one untimed warm-up, then ROUNDS x (off off on on on on off off);
# attach and detach happen with the guest idle and a pause after (under TCG
# a detach that unpatched the kmem tracepoints while another vCPU ran them
# once ended in an "Oops: int3", an effect of the emulated jump-label
# patching). Metrics: overhead-ratio = median traced / median untraced
# (target at most 1.05) and bpf-share = run time of the tracer's BPF
# programs during the traced adds (kernel.bpf_stats_enabled) / their time.
# mhp-guest: --mem 1G --maxmem 6G --append "memhp_default_state=online_movable"
# mhp-timeout: 900
. /mhp/lib.sh
. /mhp/tests/chains-lib.bash

SIZE_MIB=4096
ROUNDS=${ROUNDS:-3}

# A pipe nobody writes to: "read -t" on it is a sleep without a fork.
exec {nap}<> <(:)

memtotal_now() {
	local _k kb _u
	read -r _k kb _u </proc/meminfo
	echo "$kb"
}

# add_timed: hot-add one DIMM, print "ID MICROSECONDS" once all of it is
# online (MemTotal grown by its size).
add_timed() {
	local t0 t1 id kb want deadline
	want=$(($(memtotal_now) + SIZE_MIB * 1024))
	t0=${EPOCHREALTIME/./}
	id=$(host dimm-add "${SIZE_MIB}M") || return 1
	deadline=$((t0 + 120000000))
	while :; do
		read -r _ kb _ </proc/meminfo
		[ "$kb" -ge "$want" ] && break
		[ "${EPOCHREALTIME/./}" -lt $deadline ] || { echo "$id: not online after 120 s" >&2; return 1; }
		read -rt 0.002 -u $nap _ || true
	done
	t1=${EPOCHREALTIME/./}
	echo "$id $((t1 - t0))"
}

# bpf_prog_sum FIELD: FIELD summed over our loaded programs (names mc_*,
# fe_/fx_/kp_/kr_*); read before each detach, which unloads them.
bpf_prog_sum() {
	/mhp/bpftool -j prog show | jq --arg f "$1" '[.[] | select(.name | test("^(mc|fe|fx|kp|kr)_"))
		| .[$f] // 0] | add // 0'
}

attached() {
	[ -e /sys/fs/bpf/memmap-chains/links ]
}

median() {
	tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 }
		END { printf "%d\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# sample: one timed add, then the unplug; prints "MICROSECONDS BPF_NS CNT"
# where BPF_NS/CNT are the tracer's BPF run time and runs during the add
# (read outside the timed window; the second read also counts its own
# start-up, so the share errs on the high side).
sample() {
	local out id us ns0=0 ns1=0 cnt0=0 cnt1=0
	if attached; then
		ns0=$(bpf_prog_sum run_time_ns)
		cnt0=$(bpf_prog_sum run_cnt)
	fi
	out=$(add_timed) || { tap_fail hot-add "dimm_add ${SIZE_MIB}M: $out"; exit 0; }
	read -r id us <<<"$out"
	if attached; then
		ns1=$(bpf_prog_sum run_time_ns)
		cnt1=$(bpf_prog_sum run_cnt)
	fi
	dimm_try_unplug "$id" || { tap_fail unplug "$id could not be removed"; exit 0; }
	echo "$us $((ns1 - ns0)) $((cnt1 - cnt0))"
}

"$MC" --reset
sysctl -qw kernel.bpf_stats_enabled=1
bpf_ns=0
bpf_cnt=0
sample >/dev/null
on=0
off_list=""
on_list=""
order=""
for ((r = 0; r < ROUNDS; r++)); do
	order="$order off off on on on on off off"
done
for mode in $order; do
	if [ $mode = on ] && ! attached; then
		sleep 1
		"$MC" --pin >/dev/null || { tap_fail tracer-pin "cannot attach"; exit 0; }
		sleep 2
	elif [ $mode = off ] && attached; then
		sleep 1
		"$MC" --unpin
		sleep 2
	fi
	read -r us ns cnt < <(sample)
	[ -n "$us" ] || exit 0
	note "tracer $mode: ${SIZE_MIB} MiB hot-add + online in $us us (BPF $((ns / 1000)) us, $cnt runs)"
	if [ $mode = on ]; then
		on=$((on + us))
		bpf_ns=$((bpf_ns + ns))
		bpf_cnt=$((bpf_cnt + cnt))
		on_list="$on_list $us"
	else
		off_list="$off_list $us"
	fi
done
attached && "$MC" --unpin
off_med=$(echo "$off_list" | median)
on_med=$(echo "$on_list" | median)
ratio=$(awk -v a="$on_med" -v b="$off_med" 'BEGIN { printf "%.3f", a / b }')
share=$(awk -v a="$bpf_ns" -v b="$on" 'BEGIN { printf "%.5f", a / 1000 / b }')
[ "$bpf_ns" -gt 0 ] || tap_fail bpf-stats "no BPF run time recorded"
metric samples-per-side "$(echo "$on_list" | wc -w)"
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
	tap_ok wall-ratio-within-5pct "median traced/untraced $ratio ($on_med/$off_med us)"
else
	tap_fail wall-ratio-within-5pct "median traced/untraced $ratio ($on_med/$off_med us)"
fi
