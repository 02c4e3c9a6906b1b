#!/bin/bash
# Zone policy against the kernel's own auto-movable policy, DIMMs: the seed's
# 4 GiB DIMMs into a 4 GiB VM at ratio 301, scaled down 8x (512 MiB boot,
# 512 MiB DIMMs). DIMMs are hot-added one at a time; for every new block,
# on the same guest state, the kernel's policy (memory_hotplug.online_policy
# =auto-movable, ours off) and ours (granule = block size, kernel back to
# contig-zones) are asked which zone valid_zones offers first, then the block
# is onlined through ours. Both answers and the zone the block lands in must
# agree block for block, and the layout must be the seed's: DIMM 0-2 Movable,
# DIMM 3 onwards Normal (hot-added Normal memory allows no more Movable).
# mhp-guest: --mem 512M --maxmem 4G --append "memhp_default_state=offline memory_hotplug.online_policy=auto-movable memory_hotplug.auto_movable_ratio=301"
# mhp-timeout: 300
. /mhp/lib.sh
. /mhp/tests/policy-lib.bash

DIMMS=5

tap_check kernel-ratio-301 test "$(cat $KP/auto_movable_ratio)" = 301
# shellcheck disable=SC2086
mhp_load $LOAD_ARGS || { tap_fail load-module "insmod $LOAD_ARGS failed"; exit 0; }

compared=0
mismatch=0
movable=0
layout_ok=1
kernel_layout_ok=1
printf '%-5s %-6s %-8s %-8s %-8s\n' DIMM BLOCK KERNEL OURS ONLINED
for ((d = 0; d < DIMMS; d++)); do
	id=$(dimm_add 512M) || { tap_fail dimm-add-$d "QMP hot-add failed"; break; }
	want=Movable
	[ $d -ge 3 ] && want=Normal
	for n in $(dimm_blocks "$id"); do
		read -r k o a < <(decide_block "$n")
		printf '%-5s %-6s %-8s %-8s %-8s\n' "$d" "$n" "$k" "$o" "$a"
		compared=$((compared + 1))
		if [ "$k" != "$o" ] || [ "$o" != "$a" ]; then
			mismatch=$((mismatch + 1))
		fi
		[ "$a" = Movable ] && movable=$((movable + 1))
		[ "$a" = "$want" ] || layout_ok=0
		[ "$k" = "$want" ] || kernel_layout_ok=0
	done
done

metric policy-dimm-blocks-compared "$compared"
metric policy-dimm-blocks-mismatch "$mismatch"
metric policy-dimm-movable-blocks "$movable"
tap_check blocks-compared test "$compared" -eq $((DIMMS * 512 / BLK_MB))
tap_check zones-match-kernel-block-for-block test "$mismatch" -eq 0
tap_check kernel-gives-seed-layout test $kernel_layout_ok -eq 1
tap_check ours-gives-seed-layout test $layout_ok -eq 1
lsmem
