#!/bin/bash
# Zone policy against the kernel's own auto-movable policy, NUMA: 1 GiB boot
# memory over two nodes, 512 MiB DIMMs hot-added to node 1. Phase 1 with
# numa_aware on (kernel's and ours): node 1 takes 3 DIMMs Movable, its 4th
# goes Normal though the system as a whole would allow more. Phase 2 with
# numa_aware off on both: 4 more DIMMs on node 1, and 3 of them go Movable by
# the global ratio. As in policy-dimm, every block is judged by both
# policies on the same state and onlined through ours; all must agree.
# mhp-guest: --mem 1G --numa 2 --maxmem 6G --append "memhp_default_state=offline memory_hotplug.online_policy=auto-movable memory_hotplug.auto_movable_ratio=301"
# mhp-timeout: 300
. /mhp/lib.sh
. /mhp/tests/policy-lib.bash


compared=0
mismatch=0
layout_ok=1

# dimms PHASE N: hot-add N DIMMs to node 1; DIMM 0-2 of a phase must be
# Movable, the rest Normal.
dimms() {
	local phase=$1 count=$2 d id n k o a want
	for ((d = 0; d < count; d++)); do
		id=$(dimm_add 512M 1) || { tap_fail "phase$phase-dimm-add-$d" "QMP hot-add failed"; return; }
		want=Movable
		[ $d -ge 3 ] && want=Normal
		for n in $(dimm_blocks "$id"); do
			read -r k o a < <(decide_block "$n")
			printf '%-5s %-5s %-6s %-8s %-8s %-8s\n' "$phase" "$d" "$n" "$k" "$o" "$a"
			compared=$((compared + 1))
			if [ "$k" != "$o" ] || [ "$o" != "$a" ]; then
				mismatch=$((mismatch + 1))
			fi
			[ "$a" = "$want" ] || layout_ok=0
		done
	done
}

tap_check two-nodes test -d /sys/devices/system/node/node1
tap_check kernel-numa-aware test "$(cat $KP/auto_movable_numa_aware)" = Y
# shellcheck disable=SC2086
mhp_load $LOAD_ARGS || { tap_fail load-module "insmod $LOAD_ARGS failed"; exit 0; }
printf '%-5s %-5s %-6s %-8s %-8s %-8s\n' PHASE DIMM BLOCK KERNEL OURS ONLINED
dimms 1 4
echo N >$KP/auto_movable_numa_aware
if [ -e "$MP/numa_aware" ]; then
	echo 0 >"$MP/numa_aware"
fi
LOAD_ARGS=${LOAD_ARGS/numa_aware=1/numa_aware=0}
dimms 2 4

metric policy-numa-blocks-compared "$compared"
metric policy-numa-blocks-mismatch "$mismatch"
tap_check blocks-compared test "$compared" -eq $((8 * 512 / BLK_MB))
tap_check zones-match-kernel-block-for-block test "$mismatch" -eq 0
tap_check numa-on-then-off-layout test $layout_ok -eq 1
lsmem
