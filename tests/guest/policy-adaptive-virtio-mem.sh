#!/bin/bash
# zone_policy=adaptive with a virtio-mem device: its memory blocks form one
# dynamic memory group, which the policy ranks block by block (virtio-mem
# unplugs a device's memory from its highest address down, so the lowest
# blocks go to the kernel zone first and come back last).
#  1. the device grows to 1.5 GiB; auto-onlined, its blocks go MOVABLE;
#  2. both directions: kernel_headroom_mb raised far above the headroom
#     converts device blocks to the kernel zone, the lowest first; lowered
#     again they come back, unless the kernel filled them with unmovable
#     pages meanwhile (the log says so, and offlining them fails);
#  3. a conversion whose block neither zone takes back (the stock
#     memory-notifier-error-inject refuses every onlining) while the device
#     shrinks by one block: virtio_mem unplugs offline blocks first and
#     removes this one, as it does when it refuses to online a block it is
#     unplugging; the watcher counts it as taken by the driver, not
#     stranded, and the device reaches the new size;
#  4. the device shrinks to 512 MiB while conversions run: the watcher and
#     virtio_mem take the device hotplug lock in turn, virtio_mem unplugs
#     (MOVABLE blocks first), and the device gets to 512 MiB or stops with
#     what kernel-zone blocks hold; no block is left offline, nothing is
#     stranded;
#  5. rmmod afterwards returns and leaves every block online.
# The runner fails the run on any WARNING, oops or hang.
# mhp-guest: --mem 512M --maxmem 3G --vmem 2G,requested=0 --append "memhp_default_state=online"
# mhp-timeout: 360
. /mhp/lib.sh
. /mhp/tests/adaptive-lib.bash

MP=/sys/module/mhp_online/parameters

# plugged_mb: the device's plugged size as the host sees it.
plugged_mb() {
	echo $(($(host vmem-size vm0) >> 20))
}

echo -1000 >/proc/self/oom_score_adj
# virtio_mem first: it needs the online_page_callback; the zone policy
# does not.
kmod_load virtio_mem || { tap_fail load-virtio-mem "modprobe failed"; exit 0; }
mhp_load zone_policy=adaptive kernel_headroom_mb=32 adaptive_calm_s=3 ||
	{ tap_fail load "insmod failed"; exit 0; }
tap_check watcher-can-convert test "$(mhp_summary adaptive_converts)" = yes

# 1. Grow.
host vmem-set vm0 1536M >/dev/null
tap_check grows host vmem-wait vm0 1536M 120
wait_for 30 output_is -eq 12 hotadded_nr
tap_check movable-first test "$(hotadded_count Normal)" -eq 0 -a "$(hotadded_count Movable)" -eq 12
tap_check decided-dynamic-group \
	test "$(grep -c ' dynamic .* online Movable node .*kernel headroom allows movable' /sys/kernel/debug/mhp_online/decisions)" -eq 12

# 2. Both directions.
adaptive_to_kernel_phase
tap_check to-kernel-lowest-first test "$first_to_kernel" -eq "$(hotadded_blocks | head -1)"
adaptive_back_phase

# 3. A block left offline by a conversion, and taken by virtio_mem. The
# watcher watches such a block for 10 s: the shrink is asked for first.
# refused_block: the block the last refused conversion left offline.
refused_block() {
	dmesg | sed -n 's/.*memory block \([0-9]*\) went offline for a conversion and was refused onlining.*/\1/p' | tail -1
}
if notifier_inject_load 0; then
	f0=$(mhp_summary adaptive_failed)
	want=$(($(plugged_mb) - $(blk_bytes) / 1048576))
	notifier_inject MEM_GOING_ONLINE -1
	echo "$(($(headroom_mb) + 300))" >$MP/kernel_headroom_mb
	tap_check refused-conversion-failed wait_for 60 output_is -gt "$f0" mhp_summary adaptive_failed
	host vmem-set vm0 "${want}M" >/dev/null
	echo 32 >$MP/kernel_headroom_mb
	left=$(refused_block)
	tap_check refused-device-shrinks host vmem-wait vm0 "${want}M" 60
	tap_check refused-taken-by-driver wait_for 30 output_is -eq 1 mhp_summary adaptive_taken_by_driver
	tap_check refused-not-stranded test "$(mhp_summary adaptive_stranded)" -eq 0
	tap_check refused-block-removed test -n "$left" -a ! -e "$MHP_SYS_MEM/memory$left"
	tap_check refused-kernel-log-says klog_has "memory block $left, left offline by a conversion, was removed by its driver"
	notifier_inject MEM_GOING_ONLINE 0
	rmmod memory_notifier_error_inject
	note "refused conversion: block $left left offline, device shrunk to $(plugged_mb) MiB, taken_by_driver $(mhp_summary adaptive_taken_by_driver), stranded $(mhp_summary adaptive_stranded)"
else
	tap_fail refused-injector "memory-notifier-error-inject did not load"
fi

# 4. Shrink while the watcher converts (the headroom is far too high again).
tk0=$(mhp_summary adaptive_to_kernel)
echo "$(($(headroom_mb) + 300))" >$MP/kernel_headroom_mb
nap 0.3
host vmem-set vm0 512M >/dev/null
host vmem-wait vm0 512M 120 >/dev/null
echo 32 >$MP/kernel_headroom_mb
got=$(plugged_mb)
normal=$(hotadded_count Normal)
note "shrink to 512 MiB during conversions: plugged $got MiB, $normal blocks Normal, $(($(mhp_summary adaptive_to_kernel) - tk0)) conversions to the kernel zone meanwhile, $(mhp_summary adaptive_failed) failed"
# What stays plugged beyond the request is in kernel-zone blocks.
tap_check shrink-reaches-or-kernel-held test "$got" -le $((512 + normal * $(blk_bytes) / 1048576))
tap_check shrink-conversions-ran test "$(mhp_summary adaptive_to_kernel)" -gt "$tk0"
tap_check shrink-nothing-offline test -z "$(blk_list offline | xargs)"
tap_check nothing-stranded test "$(mhp_summary adaptive_stranded)" -eq 0
metric adaptive-vmem-shrink-plugged-mib "$got"
metric adaptive-vmem-to-kernel "$(mhp_summary adaptive_to_kernel)"
metric adaptive-vmem-to-movable "$(mhp_summary adaptive_to_movable)"

# 5. rmmod.
tap_check rmmod timeout 30 rmmod mhp_online
tap_check all-blocks-online test -z "$(blk_list offline | xargs)"
lsmem -o RANGE,SIZE,STATE,BLOCK,ZONES
