#!/bin/bash
# Allocation failures while memory is onlined, on the debug kernel
# (scripts/debug-kernel: fail_page_alloc and failslab). A DIMM's blocks
# are onlined by a writer whose allocations fail, in its own context, which
# includes the kernel's onlining work (sysfs, device core, page_ext, KASAN
# shadow, zone lists, the module's notifier and zone decision):
#  - the N-th allocation for N = 1, 2, ... (/proc/self/fail-nth), which walks
#    the first allocations of the path one at a time, and an N past the
#    end, which lets the onlining through;
#  - with the module loaded, only allocations made with the module's code
#    on the stack count (the stack filter, which fail-nth obeys too): the
#    N-th of them, then 30 % of them: the module's own error paths.
# A round without the module (what the kernel alone does), then one for
# both placements and both deciding zone policies each:
#  - every write either onlines the block or fails and leaves it offline
#    with every zone's present and managed pages and MemTotal as before;
#  - failures were really injected (the kernel's FAULT_INJECTION lines),
#    and some onlinings failed, some succeeded;
#  - with injection off every block onlines (to ZONE_MOVABLE: a block
#    onlined to ZONE_NORMAL may keep kernel pages, which is what the
#    module's policies are about, not what this test checks) and offlines
#    again, the counts are back at the start, rmmod works.
# The runner fails the run on any oops, WARNING, KASAN, lockdep, kmemleak
# or bad page report.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=offline"
# mhp-timeout: 600
. /mhp/lib.sh
set -u

FI=/sys/kernel/debug
# The fail-nth walk: N = 1 .. WALK, then one N no onlining reaches. Random
# failures at any allocation do not work here: the debug kernel's onlining
# of 128 MiB makes thousands (KASAN's shadow alone is 4096 pages), so any
# rate fails every attempt.
WALK=${FI_WALK:-10}
ATTEMPTS=${FI_ATTEMPTS:-6}
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

# online_nth N BLOCK: online BLOCK from a task whose N-th allocation fails.
online_nth() {
	sh -c 'echo "$1" >/proc/self/fail-nth && echo online >"$2"' _ "$1" \
		"$MHP_SYS_MEM/memory$2/state" 2>/dev/null
}

# fi_module_only: random failures only where the module's code is on the
# stack (its text and data: /sys/module/mhp_online, coresize).
fi_module_only() {
	local start end f
	start=$(cat /sys/module/mhp_online/sections/.text) || return 1
	end=$(printf '0x%x' $((start + $(cat /sys/module/mhp_online/coresize))))
	for f in fail_page_alloc failslab; do
		echo "$start" >$FI/$f/require-start || return 1
		echo "$end" >$FI/$f/require-end || return 1
		echo 32 >$FI/$f/stacktrace-depth || return 1
	done
}

# online_failing N: online block N from a task whose allocations fail at
# random (the module's only, fi_module_only).
online_failing() {
	sh -c 'echo 1 >/proc/self/make-it-fail && echo online >"$1"' _ \
		"$MHP_SYS_MEM/memory$1/state" 2>/dev/null
}

# online_under HOW K BLOCK: online BLOCK with HOW = nth (its K-th
# allocation fails, online_nth) or module (online_failing).
online_under() {
	if [ "$1" = nth ]; then
		online_nth "$2" "$3"
	else
		online_failing "$3"
	fi
}

if [ ! -d $FI/fail_page_alloc ] || [ ! -d $FI/failslab ]; then
	tap_fail fault-injection "no fail_page_alloc/failslab: not the debug kernel (scripts/debug-kernel)"
	exit 0
fi
tap_check fault-injection-set-up fi_setup 30
blk_kb=$(($(blk_bytes) / 1024))
i0=$(injected)

total_ok=0
total_refused=0
for tag in kernel-only tail-ratio tail-adaptive head-ratio head-adaptive; do
	# A DIMM of its own per round: a block an earlier round left in a
	# kernel zone (with kernel pages on it) does not disturb this one.
	id=$(dimm_add 512M) || { tap_fail "$tag/dimm-add" "QMP hot-add failed"; continue; }
	read -r -a blocks < <(dimm_blocks "$id" | xargs)
	base=$(zone_counts)
	mem0=$(memtotal_kb)
	case "$tag" in
	kernel-only) ;;
	*)
		if ! mhp_load placement="${tag%-*}" zone_policy="${tag#*-}"; then
			tap_fail "$tag/load" "insmod failed"
			continue
		fi
		;;
	esac
	[ "$tag" = kernel-only ] || tap_check "$tag/module-stack-filter" fi_module_only
	refused=0 onlined=0 bad="" i1=$(injected)
	tries=()
	for ((k = 1; k <= WALK; k++)); do tries+=("nth $k"); done
	tries+=("nth 1000000")
	if [ "$tag" != kernel-only ]; then
		for ((k = 0; k < ATTEMPTS; k++)); do tries+=("module 0"); done
	fi
	for ((a = 0; a < ${#tries[@]}; a++)); do
		n=${blocks[$((a % ${#blocks[@]}))]}
		[ "$(blk_state "$n")" = offline ] || continue
		before=$(zone_counts)
		m=$(memtotal_kb)
		read -r how k <<<"${tries[$a]}"
		if online_under "$how" "$k" "$n"; then
			onlined=$((onlined + 1))
			[ "$(blk_state "$n")" = online ] || bad+=" memory$n: write ok, state $(blk_state "$n");"
		else
			refused=$((refused + 1))
			[ "$(blk_state "$n")" = offline ] || bad+=" memory$n: write failed, state $(blk_state "$n");"
			[ "$(zone_counts)" = "$before" ] || bad+=" memory$n: zone counts moved on a failed online;"
			[ "$(memtotal_kb)" = "$m" ] || bad+=" memory$n: MemTotal moved on a failed online;"
		fi
		# Offline again (no injection) so that each attempt onlines anew;
		# a kernel-zone block that took kernel pages stays online.
		[ "$(blk_state "$n")" = offline ] || blk_offline "$n" ||
			note "$tag: memory$n ($(blk_zone "$n")) stays online: it holds unmovable pages"
	done
	total_ok=$((total_ok + onlined))
	total_refused=$((total_refused + refused))
	tap_check "$tag/failed-onlines-change-nothing" test -z "$bad"
	[ -z "$bad" ] || echo "# $tag:$bad"
	note "$tag: ${#tries[@]} attempts under injection: $onlined onlined, $refused refused, $(($(injected) - i1)) failures injected"
	ok=1
	for n in "${blocks[@]}"; do
		[ "$(blk_state "$n")" = online ] || blk_online "$n" online_movable || ok=0
	done
	tap_check "$tag/online-without-injection" test $ok = 1
	ok=1 left=0
	for n in "${blocks[@]}"; do
		blk_offline "$n" && continue
		left=$((left + 1))
		[ "$(blk_zone "$n")" != Movable ] || ok=0
	done
	tap_check "$tag/movable-blocks-offline-again" test $ok = 1
	tap_check "$tag/memtotal-accounts" test "$(memtotal_kb)" = $((mem0 + left * blk_kb))
	if [ $left = 0 ]; then
		tap_check "$tag/zones-back" test "$(zone_counts)" = "$base"
	else
		tap_skip "$tag/zones-back" "$left kernel-zone blocks hold kernel pages"
	fi
	[ "$tag" = kernel-only ] || tap_check "$tag/unload" mhp_unload
done
metric fault-inject-onlined "$total_ok"
metric fault-inject-refused "$total_refused"
metric fault-inject-failures "$(($(injected) - i0))"
tap_check failures-injected test "$(($(injected) - i0))" -gt 0
tap_check some-onlines-refused test "$total_refused" -gt 0
tap_check some-onlines-through test "$total_ok" -gt 0
tap_check module-gone test ! -d /sys/module/mhp_online
