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
#  - rmmod works afterwards, every round.
# The runner fails the run on any WARNING, oops or hang.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=offline"
# mhp-timeout: 300
. /mhp/lib.sh
set -u

DBG=/sys/kernel/debug/mhp_online
INJ=/sys/kernel/debug/notifier-error-inject/memory/actions
memtotal() { awk '/MemTotal/ { print $2 }' /proc/meminfo; }
cancelled() { grep -c 'onlining cancelled by a memory notifier' $DBG/decisions; }

# inject_load PRIORITY: the injector's notifier at PRIORITY (ours is 0).
inject_load() {
	[ ! -d /sys/module/memory_notifier_error_inject ] ||
		rmmod memory_notifier_error_inject || return 1
	insmod /mhp/modules/memory-notifier-error-inject.ko priority="$1"
}

# inject ACTION ERRNO: make ACTION fail with -ERRNO (0: succeed again).
inject() {
	echo "$2" >"$INJ/$1/error"
}

kmod_load notifier-error-inject || { tap_fail inject-load "notifier-error-inject did not load"; exit 0; }
tap_check injector-loads inject_load 0
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
			tap_check "$tag/injector-at-priority" inject_load $prio
			c0=$(cancelled)
			inject MEM_GOING_ONLINE -12
			tap_check "$tag/online-refused" fails blk_online "$n"
			tap_check "$tag/still-offline" test "$(blk_state "$n")" = offline
			tap_check "$tag/zones-unchanged" test "$(zone_counts)" = "$base"
			tap_check "$tag/memtotal-unchanged" test "$(memtotal)" = "$mem0"
			tap_check "$tag/log-says-cancelled" test "$(cancelled)" -eq $((c0 + 1))
			inject MEM_GOING_ONLINE 0
			tap_check "$tag/online-when-cleared" blk_online "$n"
			tap_check "$tag/online-logged-once" test "$(cancelled)" -eq $((c0 + 1))
			inject MEM_GOING_OFFLINE -16
			tap_check "$tag/offline-refused" fails blk_offline "$n"
			tap_check "$tag/still-online" test "$(blk_state "$n")" = online
			inject MEM_GOING_OFFLINE 0
			tap_check "$tag/offline-when-cleared" blk_offline "$n"
			tap_check "$tag/zones-back" test "$(zone_counts)" = "$base"
			tap_check "$tag/unload" mhp_unload
			rounds=$((rounds + 1))
		done
	done
done
metric notifier-inject-rounds "$rounds"
tap_check injector-unloads rmmod memory_notifier_error_inject
tap_check module-gone test ! -d /sys/module/mhp_online
