#!/bin/bash
# Scenario 2 (seed 000, example b, scaled): memory-intensive workload, then
# unplug. Hot-adds TOTAL_MIB (about 14x the boot memory) in UNIT_MIB steps
# with auto-onlining (DIMMs of one unit, or virtio-mem vm0 stepped by one
# unit), probes how many 1 GiB pages could be had (scenario 4), runs
# mhp-workload sized to most of the guest's memory for WL_SECONDS, stops it
# (its processes exit, its tmpfs files are deleted) and unplugs as much as
# possible. Reports the fraction of hot-added memory removed, OOM kills and
# allocation failures during the workload, and the block maps.
# Environment: KIND dimm|vmem, TOTAL_MIB, UNIT_MIB, WL_SECONDS, POLICY,
# PLACEMENT (see lib.sh), RECLAIM=1 (drop caches and shrink every slab
# cache before the unplug, with what held the kernel-zone blocks before and
# after).
. /mhp/lib.sh
. /mhp/tests/experiment/lib.sh
KIND=${KIND:-dimm}
TOTAL_MIB=${TOTAL_MIB:-7168}
UNIT_MIB=${UNIT_MIB:-256}
WL_SECONDS=${WL_SECONDS:-60}
exp_begin workload

exp_grow_added workload || exit 0
blocks=$(wc -l </tmp/added.txt)
exp_gigantic grown

# The job: most of what the guest has now.
exp_workload_dir
mib=$(awk '/^MemAvailable/ { print int($2 / 1024) }' /proc/meminfo)
args=$(exp_workload_args $((mib * 85 / 100)))
oom0=$(oom_kills)
fail0=$(alloc_failures)
note "workload: mhp-workload $args --seconds $WL_SECONDS (MemAvailable $mib MiB)"
t0=$(exp_now)
# shellcheck disable=SC2086
exp_workload $args --seconds "$WL_SECONDS" >/tmp/wl.out 2>&1
wl_rc=$?
metric workload-seconds "$(exp_since "$t0")"
metric workload-rc "$wl_rc"
note "$(tail -1 /tmp/wl.out)"
wl_killed=$(sed -n 's/.*killed=\([0-9]*\).*/\1/p' /tmp/wl.out)
wl_failed=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' /tmp/wl.out)
wl_rate=$(sed -n 's/.*pages_per_s=\([0-9]*\).*/\1/p' /tmp/wl.out)
[ -z "$wl_rate" ] || metric workload-pages-per-s "$wl_rate"
metric workload-killed "${wl_killed:-0}"
metric workload-failed "${wl_failed:-0}"
metric oom-kills $(($(oom_kills) - oom0))
metric alloc-failures $(($(alloc_failures) - fail0))
exp_workload_end
exp_blockmap /tmp/after-wl.txt
metric after-normal "$(exp_zone_blocks /tmp/after-wl.txt Normal)"
metric after-movable "$(exp_zone_blocks /tmp/after-wl.txt Movable)"
exp_module_save added

# RECLAIM=1: before the unplug, reclaim what kernel memory can be reclaimed,
# and say what held the hot-added kernel-zone blocks before and after.
if [ "${RECLAIM:-0}" = 1 ]; then
	exp_kernel_pages before-reclaim
	exp_reclaim_kernel
	exp_kernel_pages after-reclaim
fi

exp_shrink "$KIND" "$UNIT_MIB"
# The adaptive policy's conversions, workload and unplug together.
exp_conversions_metrics
exp_blockmap /tmp/left.txt
left=$(wc -l </tmp/left.txt)
save_file left.txt /tmp/left.txt
metric left-blocks "$left"
metric left-plugged-mib "$EXP_LEFT_MIB"
metric removed-blocks $((blocks - left))
metric removed-mib $((TOTAL_MIB - EXP_LEFT_MIB))
metric shrink-seconds "$EXP_SHRINK_S"
note "workload $KIND $POLICY/$PLACEMENT: $((blocks - left)) of $blocks blocks removed ($((TOTAL_MIB - EXP_LEFT_MIB)) of $TOTAL_MIB MiB unplugged) in $EXP_SHRINK_S s"
tap_ok workload "$((blocks - left)) of $blocks blocks removed, $((TOTAL_MIB - EXP_LEFT_MIB)) of $TOTAL_MIB MiB"
