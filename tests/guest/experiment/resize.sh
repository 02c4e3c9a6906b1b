#!/bin/bash
# Scenario 3 (seed 002): dynamic VM resizing with virtio-mem. Steps the
# requested size of device vm0 through STEPS_MIB (the seed's 2 -> 8 -> 4 ->
# 16 -> 4 GiB, scaled) while mhp-workload runs (started just before each
# request, sized to 70 % of MemAvailable before the request, less what a
# shrinking step takes away). Per step:
# size requested, size reached, seconds to reach it (or to the last change
# when it is not reached: 20 s without progress or STEP_LIMIT s in all end
# a step),
# OOM kills, zones of the hot-added blocks. Scenario 4 rides along: at the
# largest step, once the workload has stopped, how many 1 GiB pages can be
# allocated.
# Environment: STEPS_MIB ("512 2048 1024 4096 1024"), WL_SECONDS (20),
# STEP_LIMIT (120), POLICY, PLACEMENT (see lib.sh).
. /mhp/lib.sh
. /mhp/tests/experiment/lib.sh
KIND=vmem
STEPS_MIB=${STEPS_MIB:-512 2048 1024 4096 1024}
WL_SECONDS=${WL_SECONDS:-20}
STEP_LIMIT=${STEP_LIMIT:-120}
exp_begin resize

peak=$(tr ' ' '\n' <<<"$STEPS_MIB" | sort -n | tail -1)
peak_done=0
exp_workload_dir
cur=0
i=0
for want in $STEPS_MIB; do
	i=$((i + 1))
	avail=$(awk '/^MemAvailable/ { print int($2 / 1024) }' /proc/meminfo)
	[ "$cur" -gt "$want" ] && avail=$((avail - (cur - want)))
	args=$(exp_workload_args $((avail * 70 / 100)))
	oom0=$(oom_kills)
	fail0=$(alloc_failures)
	# shellcheck disable=SC2086
	exp_workload $args --seconds "$WL_SECONDS" >/tmp/wl.out 2>&1 &
	wl=$!
	t0=$(exp_now)
	host vmem-set vm0 "${want}M" >/dev/null
	last=-1
	t_last=$t0
	while :; do
		size=$(($(host vmem-size vm0) >> 20))
		if [ "$size" != "$last" ]; then
			last=$size
			t_last=$(exp_now)
			last_change=$SECONDS
		fi
		[ "$size" = "$want" ] && break
		[ $((SECONDS - last_change)) -ge 20 ] && break
		[ "$(exp_since "$t0" | cut -d. -f1)" -ge "$STEP_LIMIT" ] && break
		sleep 0.5
	done
	secs=$(awk -v a="$t0" -v b="$t_last" 'BEGIN { printf "%.3f\n", b - a }')
	wait "$wl"
	wl_rc=$?
	exp_blockmap /tmp/step.txt
	metric "step$i-requested-mib" "$want"
	metric "step$i-reached-mib" "$size"
	metric "step$i-seconds" "$secs"
	metric "step$i-reached" $([ "$size" = "$want" ] && echo 1 || echo 0)
	metric "step$i-oom-kills" $(($(oom_kills) - oom0))
	metric "step$i-alloc-failures" $(($(alloc_failures) - fail0))
	metric "step$i-workload-rc" "$wl_rc"
	metric "step$i-memtotal-mib" $(($(memtotal_kb) / 1024))
	metric "step$i-normal" "$(exp_zone_blocks /tmp/step.txt Normal)"
	metric "step$i-movable" "$(exp_zone_blocks /tmp/step.txt Movable)"
	note "step $i: requested $want MiB, reached $size MiB in $secs s; $(tail -1 /tmp/wl.out)"
	exp_workload_end
	if [ "$want" = "$peak" ] && [ $peak_done = 0 ]; then
		peak_done=1
		save_file peak.txt /tmp/step.txt
		exp_gigantic peak
	fi
	cur=$size
done
metric steps "$i"
exp_counts_metrics total
exp_conversions_metrics
exp_module_save end
tap_ok resize "$i steps"
