#!/bin/bash
# Zone policy against the kernel's own auto-movable policy, two virtio-mem
# devices: 512 MiB boot memory, vm0 and vm1 (2 GiB each) grow in turns by
# 512 MiB. The second device must leave the early kernel memory the first
# needs for its Movable memory alone (the kernel's walk over the other
# dynamic memory groups, which the module reaches through kallsyms). Every
# block is judged by both policies on the same guest state (granule = block
# size) and onlined through ours; all answers must agree block for block.
# mhp-guest: --mem 512M --maxmem 5G --vmem 2G,requested=0 --vmem 2G,requested=0 --append "memhp_default_state=offline memory_hotplug.online_policy=auto-movable memory_hotplug.auto_movable_ratio=301"
# mhp-timeout: 300
# shellcheck disable=SC2317 # the functions run in < <(decide_block)
. /mhp/lib.sh
. /mhp/tests/policy-lib.bash

STEP_MB=512
DEV_MB=2048

tap_check kernel-ratio-301 test "$(cat $KP/auto_movable_ratio)" = 301
# virtio_mem first: it needs the online_page_callback.
kmod_load virtio_mem || { tap_fail load-virtio-mem "insmod failed"; exit 0; }
# shellcheck disable=SC2086
mhp_load $LOAD_ARGS || { tap_fail load-module "insmod $LOAD_ARGS failed"; exit 0; }
if dmesg | grep -q "mhp_online: other dynamic memory groups are not counted"; then
	note "module cannot walk memory groups: $(dmesg | grep mhp_online | tail -1)"
fi

compared=0
mismatch=0
kinds=""
printf '%-4s %-6s %-8s %-8s %-8s\n' DEV BLOCK KERNEL OURS ONLINED
for ((size = STEP_MB; size <= DEV_MB; size += STEP_MB)); do
	for dev in vm0 vm1; do
		host vmem-set $dev ${size}M >/dev/null
		if ! host vmem-wait $dev ${size}M 90 >/dev/null; then
			tap_fail "$dev-grow-$size" "device did not plug ${size}M"
			break 2
		fi
		# The device plugs before it adds the block: wait for the blocks.
		want=$((size * 2 / BLK_MB))
		[ $dev = vm0 ] && want=$(((size * 2 - STEP_MB) / BLK_MB))
		for ((t = 0; t < 300; t++)); do
			[ "$(hotadded_blocks | wc -l)" -ge "$want" ] && break
			sleep 0.1
		done
		for n in $(hotadded_blocks); do
			[ "$(blk_state "$n")" = offline ] || continue
			read -r k o a < <(decide_block "$n")
			printf '%-4s %-6s %-8s %-8s %-8s\n' "$dev" "$n" "$k" "$o" "$a"
			compared=$((compared + 1))
			if [ "$k" != "$o" ] || [ "$o" != "$a" ]; then
				mismatch=$((mismatch + 1))
			fi
			kinds="$kinds $dev:$a"
		done
	done
done

metric policy-vmem2-blocks-compared "$compared"
metric policy-vmem2-blocks-mismatch "$mismatch"
tap_check blocks-compared test "$compared" -eq $((2 * DEV_MB / BLK_MB))
tap_check zones-match-kernel-block-for-block test "$mismatch" -eq 0
# Both devices must get both zones, or the test did not reach the mixture.
for dev in vm0 vm1; do
	for z in Movable Normal; do
		tap_check "$dev-has-$z" grep -q "$dev:$z" <<<"$kinds"
	done
done
lsmem
