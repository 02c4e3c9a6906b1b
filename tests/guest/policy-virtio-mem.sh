#!/bin/bash
# Zone policy against the kernel's own auto-movable policy, virtio-mem: the
# seed's single virtio-mem device in a 4 GiB VM at ratio 301, scaled down 8x
# (512 MiB boot, one device growing to 5 GiB in 512 MiB steps). For every
# block the device adds, on the same guest state, the kernel's policy
# (memory_hotplug.online_policy=auto-movable, ours off) and ours (granule =
# block size, kernel back to contig-zones) are asked which zone valid_zones
# offers first, then the block is onlined through ours. Both answers and the
# zone the block lands in must agree block for block, and the layout must be
# the seed's: the first 1.5 GiB (3 x boot) Movable, then Normal, Movable x3,
# Normal, ... (Normal memory of the device allows more Movable in it).
# mhp-guest: --mem 512M --maxmem 6G --vmem 5G,requested=0 --append "memhp_default_state=offline memory_hotplug.online_policy=auto-movable memory_hotplug.auto_movable_ratio=301"
# mhp-timeout: 300
. /mhp/lib.sh
. /mhp/tests/policy-lib.bash

STEP_MB=512
TOTAL_MB=5120

PER_GRANULE=$((1024 / BLK_MB))

# full_movable_granules: aligned GiBs of hot-added memory all Movable.
full_movable_granules() {
	local n c=0 full=0
	for n in $(hotadded_blocks); do
		[ $((n % PER_GRANULE)) -eq 0 ] && c=0
		[ "$(blk_zone "$n")" = Movable ] && c=$((c + 1))
		[ $c -eq $PER_GRANULE ] && full=$((full + 1)) && c=0
	done
	echo $full
}

# hugetlb_1g: 1 GiB hugetlb pages the guest can allocate now (the stock
# kernels never take them from ZONE_MOVABLE, and a page must lie in one zone).
hugetlb_1g() {
	local hp=/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages n
	echo 64 >$hp
	n=$(cat $hp)
	echo 0 >$hp
	echo "$n"
}

# The seed's layout: boot x 3.01 Movable first (here 12 blocks), then N M M M.
seed_zone() {
	local i=$1
	if [ "$i" -lt 12 ] || [ $(((i - 12) % 4)) -ne 0 ]; then
		echo Movable
	else
		echo Normal
	fi
}

tap_check kernel-ratio-301 test "$(cat $KP/auto_movable_ratio)" = 301
# virtio_mem first: it needs the online_page_callback.
kmod_load virtio_mem || { tap_fail load-virtio-mem "insmod failed"; exit 0; }
# shellcheck disable=SC2086
mhp_load $LOAD_ARGS || { tap_fail load-module "insmod $LOAD_ARGS failed"; exit 0; }

compared=0
mismatch=0
movable=0
layout_ok=1
kernel_layout_ok=1
printf '%-5s %-6s %-8s %-8s %-8s\n' INDEX BLOCK KERNEL OURS ONLINED
for ((size = STEP_MB; size <= TOTAL_MB; size += STEP_MB)); do
	host vmem-set vm0 ${size}M >/dev/null
	if ! host vmem-wait vm0 ${size}M 90 >/dev/null; then
		tap_fail vmem-grow-$size "device did not plug ${size}M"
		break
	fi
	# The device plugs before it adds the block: wait for the blocks.
	for ((t = 0; t < 300; t++)); do
		[ "$(hotadded_blocks | wc -l)" -ge $((size / BLK_MB)) ] && break
		sleep 0.1
	done
	for n in $(hotadded_blocks); do
		[ "$(blk_state "$n")" = offline ] || continue
		read -r k o a < <(decide_block "$n")
		want=$(seed_zone "$compared")
		printf '%-5s %-6s %-8s %-8s %-8s\n' "$compared" "$n" "$k" "$o" "$a"
		compared=$((compared + 1))
		if [ "$k" != "$o" ] || [ "$o" != "$a" ]; then
			mismatch=$((mismatch + 1))
		fi
		[ "$a" = Movable ] && movable=$((movable + 1))
		[ "$a" = "$want" ] || layout_ok=0
		[ "$k" = "$want" ] || kernel_layout_ok=0
	done
done

metric policy-vmem-blocks-compared "$compared"
metric policy-vmem-blocks-mismatch "$mismatch"
metric policy-vmem-movable-blocks "$movable"
tap_check blocks-compared test "$compared" -eq $((TOTAL_MB / BLK_MB))
tap_check zones-match-kernel-block-for-block test "$mismatch" -eq 0
tap_check kernel-gives-seed-layout test $kernel_layout_ok -eq 1
tap_check ours-gives-seed-layout test $layout_ok -eq 1

# What the mixture costs at 1 GiB granularity (compare policy-granule).
full=$(full_movable_granules)
hugetlb=$(hugetlb_1g)
pinned=$(pin_kernel_zones)
offlinable=$(offlinable_granules)
umount /mnt/pin
note "kernel's layout: $full fully Movable 1 GiB granules, $hugetlb 1 GiB hugetlb pages; with $pinned MiB pinned in kernel zones $offlinable granules offline as a whole"
metric policy-vmem-full-movable-granules "$full"
metric policy-vmem-offlinable-granules "$offlinable"
metric policy-vmem-hugetlb-1g "$hugetlb"
tap_check movable-granules-offline-whole test "$offlinable" -eq "$full"
lsmem
