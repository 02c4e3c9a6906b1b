#!/bin/bash
# Onlining and offlining refused by another memory notifier, with the
# module loaded. The stock kernels' memory-notifier-error-inject makes
# MEM_GOING_ONLINE or MEM_GOING_OFFLINE fail, registered at a priority
# above ours (it refuses before our notifier sees the event) and below
# (after), for both placements and both zone policies that decide:
#  - the onlining fails, the block stays offline, every zone's present and
#    managed pages and MemTotal are unchanged;
#  - the decision log says the onlining was cancelled (once), so it never
#    claims a block went to a zone it never reached;
#  - the same block onlines when the error is cleared; offlining refused
#    leaves it online, cleared it offlines, counts back to the start;
#  - rmmod works afterwards, every round;
#  - zone_policy=adaptive converting a block that neither zone takes back:
#    nothing removes a DIMM's block, so after the watcher's wait it
#    counts as stranded (not taken by a driver), the kernel log says so,
#    and the block onlines by hand once the error is cleared.
# The runner fails the run on any WARNING, oops or hang.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=offline"
# mhp-timeout: 300
. /mhp/lib.sh
. /mhp/tests/adaptive-lib.bash
set -u

DBG=/sys/kernel/debug/mhp_online
memtotal() { awk '/MemTotal/ { print $2 }' /proc/meminfo; }
cancelled() { grep -c 'onlining cancelled by a memory notifier' $DBG/decisions; }

tap_check injector-loads notifier_inject_load 0
id=$(dimm_add 256M) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
read -r -a blocks < <(dimm_blocks "$id" | xargs)
n=${blocks[0]}
base=$(zone_counts)
mem0=$(memtotal)

rounds=0
for placement in tail head; do
	for policy in ratio adaptive; do
		for prio in 1 -1; do
			tag="$placement-$policy-prio$prio"
			if ! mhp_load placement=$placement zone_policy=$policy; then
				tap_fail "$tag/load" "insmod failed"
				continue
			fi
			tap_check "$tag/injector-at-priority" notifier_inject_load $prio
			c0=$(cancelled)
			notifier_inject MEM_GOING_ONLINE -12
			tap_check "$tag/online-refused" fails blk_online "$n"
			tap_check "$tag/still-offline" test "$(blk_state "$n")" = offline
			tap_check "$tag/zones-unchanged" test "$(zone_counts)" = "$base"
			tap_check "$tag/memtotal-unchanged" test "$(memtotal)" = "$mem0"
			tap_check "$tag/log-says-cancelled" test "$(cancelled)" -eq $((c0 + 1))
			notifier_inject MEM_GOING_ONLINE 0
			tap_check "$tag/online-when-cleared" blk_online "$n"
			tap_check "$tag/online-logged-once" test "$(cancelled)" -eq $((c0 + 1))
			notifier_inject MEM_GOING_OFFLINE -16
			tap_check "$tag/offline-refused" fails blk_offline "$n"
			tap_check "$tag/still-online" test "$(blk_state "$n")" = online
			notifier_inject MEM_GOING_OFFLINE 0
			tap_check "$tag/offline-when-cleared" blk_offline "$n"
			tap_check "$tag/zones-back" test "$(zone_counts)" = "$base"
			tap_check "$tag/unload" mhp_unload
			rounds=$((rounds + 1))
		done
	done
done
metric notifier-inject-rounds "$rounds"

# A conversion refused both ways. Both blocks of the DIMM online MOVABLE:
# the one converted needs the other's room for its used pages.
if mhp_load zone_policy=adaptive kernel_headroom_mb=32 adaptive_calm_s=3; then
	tap_check stranded/injector-at-0 notifier_inject_load 0
	for b in "${blocks[@]}"; do
		tap_check "stranded/online-movable-$b" blk_online "$b"
		tap_check "stranded/movable-first-$b" test "$(blk_zone "$b")" = Movable
	done
	notifier_inject MEM_GOING_ONLINE -1
	echo "$(($(headroom_mb) + 300))" >/sys/module/mhp_online/parameters/kernel_headroom_mb
	tap_check stranded/conversion-failed wait_for 60 output_is -ge 1 mhp_summary adaptive_failed
	echo 32 >/sys/module/mhp_online/parameters/kernel_headroom_mb
	left=$(blk_list offline | xargs)
	tap_check stranded/one-left-offline test "$(echo "$left" | wc -w)" -eq 1
	tap_check stranded/counted wait_for 30 output_is -eq 1 mhp_summary adaptive_stranded
	tap_check stranded/not-taken test "$(mhp_summary adaptive_taken_by_driver)" -eq 0
	tap_check stranded/kernel-log-says klog_has "memory block $left went offline for a conversion and cannot come online again"
	notifier_inject MEM_GOING_ONLINE 0
	tap_check stranded/online-by-hand blk_online "$left"
	for b in "${blocks[@]}"; do
		tap_check "stranded/offline-$b" blk_offline "$b"
	done
	tap_check stranded/zones-back test "$(zone_counts)" = "$base"
	note "refused conversion: block $left left offline, stranded $(mhp_summary adaptive_stranded), taken $(mhp_summary adaptive_taken_by_driver)"
	tap_check stranded/unload mhp_unload
else
	tap_fail stranded/load "insmod failed"
fi
tap_check injector-unloads rmmod memory_notifier_error_inject
tap_check module-gone test ! -d /sys/module/mhp_online
