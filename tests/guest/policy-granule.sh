#!/bin/bash
# The granule: a virtio-mem device grows a 512 MiB guest by 5 GiB, onlined by
# mhp_online with its defaults (ratio 301, granule 1 GiB). Every aligned
# 1 GiB granule of the device must be all Movable or all Normal (the kernel's
# policy mixes Normal and Movable blocks inside each GiB, see
# policy-virtio-mem), and both kinds must appear. Every fully Movable granule
# then offlines as a whole (what unplugging in 1 GiB units needs) while the
# kernel zones are full of unmovable pages, and no other granule does; the
# 1 GiB hugetlb pages the guest can allocate are reported too;
# policy-virtio-mem reports the same metrics for the kernel's layout.
# mhp-guest: --mem 512M --maxmem 6G --vmem 5G,requested=0 --append "memhp_default_state=online"
# mhp-timeout: 300
. /mhp/lib.sh
. /mhp/tests/policy-lib.bash

DEV_MB=5120
STEP_MB=1024
PER_GRANULE=$((1024 / BLK_MB))

# granule_zones: one line per aligned GiB of hot-added memory: its blocks'
# zones, e.g. "Movable" or "Normal" or "Movable Normal" if mixed.
granule_zones() {
	local n g last=-1 zones=""
	for n in $(hotadded_blocks); do
		g=$((n / PER_GRANULE))
		if [ "$g" != "$last" ] && [ "$last" != -1 ]; then
			echo "$zones" | tr ' ' '\n' | sort -u | xargs
			zones=""
		fi
		last=$g
		zones="$zones $(blk_zone "$n")"
	done
	[ -n "$zones" ] && echo "$zones" | tr ' ' '\n' | sort -u | xargs
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

kmod_load virtio_mem || { tap_fail load-virtio-mem "insmod failed"; exit 0; }
mhp_load || { tap_fail load-module "insmod failed"; exit 0; }
tap_check granule-default-1024 test "$(cat /sys/module/mhp_online/parameters/granule_mb)" = 1024
for ((size = STEP_MB; size <= DEV_MB; size += STEP_MB)); do
	host vmem-set vm0 ${size}M >/dev/null
	host vmem-wait vm0 ${size}M 120 >/dev/null || { tap_fail vmem-grow-$size "device did not plug ${size}M"; exit 0; }
done
# The last blocks may still be onlining.
for ((t = 0; t < 300; t++)); do
	[ "$(blk_list online | wc -l)" -ge $(((512 + DEV_MB) / BLK_MB)) ] && break
	sleep 0.1
done

gz=$(granule_zones)
echo "$gz" | nl
granules=$(echo "$gz" | wc -l)
full_movable=$(echo "$gz" | grep -cx Movable)
full_normal=$(echo "$gz" | grep -cx Normal)
mixed=$((granules - full_movable - full_normal))
movable_blocks=0
for n in $(hotadded_blocks); do
	[ "$(blk_zone "$n")" = Movable ] && movable_blocks=$((movable_blocks + 1))
done

hugetlb=$(hugetlb_1g)
pinned=$(pin_kernel_zones)
offlinable=$(offlinable_granules)
umount /mnt/pin
note "granule 1 GiB: $granules granules: $full_movable Movable, $full_normal Normal, $mixed mixed; $movable_blocks Movable blocks; $hugetlb 1 GiB hugetlb pages; with $pinned MiB pinned in kernel zones $offlinable granules offline as a whole"

metric policy-granule-granules "$granules"
metric policy-granule-full-movable "$full_movable"
metric policy-granule-mixed "$mixed"
metric policy-granule-movable-blocks "$movable_blocks"
metric policy-granule-offlinable-granules "$offlinable"
metric policy-granule-hugetlb-1g "$hugetlb"
tap_check device-fully-online test "$granules" -eq $((DEV_MB / 1024))
tap_check no-mixed-granule test "$mixed" -eq 0
tap_check movable-and-normal-granules test "$full_movable" -gt 0 -a "$full_normal" -gt 0
tap_check movable-granules-offline-whole test "$offlinable" -eq "$full_movable"
