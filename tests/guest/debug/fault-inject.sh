#!/bin/bash
# Allocation failures while memory is onlined, on the debug kernel
# (scripts/debug-kernel: fail_page_alloc and failslab). A DIMM's blocks
# are onlined by a writer whose page and slab allocations fail at random
# (the task filter: only the writer's own, which include the kernel's
# onlining work done in its context: page_ext, KASAN shadow, zone lists,
# the module's notifier and zone decision). First without the module (what
# the kernel alone does), then for both placements and both deciding zone
# policies:
#  - every write either onlines the block or fails and leaves it offline
#    with every zone's present and managed pages and MemTotal as before;
#  - failures were really injected (the kernel's FAULT_INJECTION lines);
#  - with injection off every block onlines and offlines again, the counts
#    are back at the start, rmmod works.
# The runner fails the run on any oops, WARNING, KASAN, lockdep, kmemleak
# or bad page report.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=offline"
# mhp-timeout: 600
. /mhp/lib.sh
set -u

FI=/sys/kernel/debug
ATTEMPTS=${FI_ATTEMPTS:-12}
memtotal() { awk '/MemTotal/ { print $2 }' /proc/meminfo; }
injected() { dmesg | grep -c 'FAULT_INJECTION: forcing a failure' || true; }

# fi_setup PERCENT: every page and slab allocation of a task that asks for
# it (make-it-fail) fails with PERCENT % probability, sleeping ones too.
fi_setup() {
	local f
	for f in fail_page_alloc failslab; do
		echo Y >$FI/$f/task-filter || return 1
		echo N >$FI/$f/ignore-gfp-wait || return 1
		echo "$1" >$FI/$f/probability || return 1
		echo 1 >$FI/$f/interval || return 1
		echo -1 >$FI/$f/times || return 1
		echo 0 >$FI/$f/space || return 1
		echo 1 >$FI/$f/verbose || return 1
	done
	echo N >$FI/fail_page_alloc/ignore-gfp-highmem &&
		echo 0 >$FI/fail_page_alloc/min-order
}

# online_failing N: online block N from a task whose allocations fail.
online_failing() {
	sh -c 'echo 1 >/proc/self/make-it-fail && echo online >"$1"' _ \
		"$MHP_SYS_MEM/memory$1/state" 2>/dev/null
}

if [ ! -d $FI/fail_page_alloc ] || [ ! -d $FI/failslab ]; then
	tap_fail fault-injection "no fail_page_alloc/failslab: not the debug kernel (scripts/debug-kernel)"
	exit 0
fi
tap_check fault-injection-set-up fi_setup 30
id=$(dimm_add 512M) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
read -r -a blocks < <(dimm_blocks "$id" | xargs)
base=$(zone_counts)
mem0=$(memtotal)
i0=$(injected)

total_ok=0
total_refused=0
for tag in kernel-only tail-ratio tail-adaptive head-ratio head-adaptive; do
	case "$tag" in
	kernel-only) ;;
	*)
		if ! mhp_load placement="${tag%-*}" zone_policy="${tag#*-}"; then
			tap_fail "$tag/load" "insmod failed"
			continue
		fi
		;;
	esac
	refused=0 onlined=0 bad=""
	for ((a = 0; a < ATTEMPTS; a++)); do
		n=${blocks[$((a % ${#blocks[@]}))]}
		[ "$(blk_state "$n")" = offline ] || continue
		before=$(zone_counts)
		m=$(memtotal)
		if online_failing "$n"; then
			onlined=$((onlined + 1))
			[ "$(blk_state "$n")" = online ] || bad+=" memory$n: write ok, state $(blk_state "$n");"
		else
			refused=$((refused + 1))
			[ "$(blk_state "$n")" = offline ] || bad+=" memory$n: write failed, state $(blk_state "$n");"
			[ "$(zone_counts)" = "$before" ] || bad+=" memory$n: zone counts moved on a failed online;"
			[ "$(memtotal)" = "$m" ] || bad+=" memory$n: MemTotal moved on a failed online;"
		fi
		# Offline again (no injection) so that each attempt onlines anew.
		[ "$(blk_state "$n")" = offline ] || blk_offline "$n" ||
			bad+=" memory$n: offline after the attempt failed;"
	done
	total_ok=$((total_ok + onlined))
	total_refused=$((total_refused + refused))
	tap_check "$tag/failed-onlines-change-nothing" test -z "$bad"
	[ -z "$bad" ] || echo "# $tag:$bad"
	note "$tag: $ATTEMPTS attempts under injection: $onlined onlined, $refused refused"
	ok=1
	for n in "${blocks[@]}"; do blk_online "$n" || ok=0; done
	tap_check "$tag/online-without-injection" test $ok = 1
	ok=1
	for n in "${blocks[@]}"; do blk_offline "$n" || ok=0; done
	tap_check "$tag/offline-again" test $ok = 1
	tap_check "$tag/zones-back" test "$(zone_counts)" = "$base"
	tap_check "$tag/memtotal-back" test "$(memtotal)" = "$mem0"
	[ "$tag" = kernel-only ] || tap_check "$tag/unload" mhp_unload
done
metric fault-inject-onlined "$total_ok"
metric fault-inject-refused "$total_refused"
metric fault-inject-failures "$(($(injected) - i0))"
tap_check failures-injected test "$(($(injected) - i0))" -gt 0
tap_check some-onlines-refused test "$total_refused" -gt 0
tap_check module-gone test ! -d /sys/module/mhp_online
