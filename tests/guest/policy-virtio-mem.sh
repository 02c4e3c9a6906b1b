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

KP=/sys/module/memory_hotplug/parameters
MP=/sys/module/mhp_online/parameters
STEP_MB=512
TOTAL_MB=5120
BLK_MB=$(($(blk_bytes) >> 20))
LOAD_ARGS="zone_policy=ratio ratio=301 numa_aware=1 granule_mb=$BLK_MB"

# ours_off: blocks onlined without a zone are the kernel's to decide.
ours_off() {
	if [ -e "$MP/zone_policy" ]; then
		echo off >"$MP/zone_policy"
	else
		mhp_unload 2>/dev/null || true
	fi
	echo auto-movable >"$KP/online_policy"
}

# ours_on: they are ours; the kernel's own policy goes back to its default.
ours_on() {
	echo contig-zones >"$KP/online_policy"
	if [ -e "$MP/zone_policy" ]; then
		echo ratio >"$MP/zone_policy"
	else
		# shellcheck disable=SC2086
		mhp_load $LOAD_ARGS
	fi
}

# decide_block N: "kernel's-answer our-answer zone-after-onlining".
decide_block() {
	local n=$1 k o a
	ours_off
	k=$(blk_zone "$n")
	ours_on
	o=$(blk_zone "$n")
	if blk_online "$n" online; then
		a=$(blk_zone "$n")
	else
		a=online-failed
	fi
	echo "$k $o $a"
}

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

# pin_kernel_zones: fill the kernel zones with unmovable pages (ramfs asks for
# GFP_HIGHUSER: never ZONE_MOVABLE, never migrated) until they are nearly
# full, as a guest that uses its kernel memory; prints the MiB pinned.
pin_kernel_zones() {
	local got=0 free
	mkdir -p /mnt/pin
	mount -t ramfs none /mnt/pin || return 1
	while :; do
		free=$(awk '/^Node/ { zone = $4 }
			/^ +pages free/ { free = $3 }
			/^ +high +[0-9]/ { if (zone != "Movable" && zone != "Device") sum += free - $2 }
			END { printf "%d\n", sum / 256 }' /proc/zoneinfo)
		[ "$free" -ge 32 ] || break
		dd if=/dev/zero of=/mnt/pin/c$got bs=1M count=16 2>/dev/null || break
		got=$((got + 16))
	done
	echo $got
}

# offlinable_granules: aligned GiBs of hot-added memory whose blocks can all
# be offlined at once (what unplugging 1 GiB at a time needs); every block
# offlined is onlined back to the zone it had. A block holding pinned pages
# never finishes offlining: the timeout's signal ends the attempt.
offlinable_granules() {
	local g n x z ok count=0 done_blocks
	for g in $(hotadded_blocks | awk -v p="$PER_GRANULE" '{ print int($1 / p) }' | sort -un); do
		ok=1
		done_blocks=()
		for ((n = g * PER_GRANULE; n < (g + 1) * PER_GRANULE; n++)); do
			[ "$(blk_state "$n")" = online ] || { ok=0; break; }
			z=$(blk_zone "$n")
			if timeout 5 sh -c "echo offline >$MHP_SYS_MEM/memory$n/state" 2>/dev/null; then
				done_blocks+=("$n:$z")
			else
				ok=0
				break
			fi
		done
		for x in "${done_blocks[@]}"; do
			n=${x%%:*}
			if [ "${x##*:}" = Movable ]; then
				blk_online "$n" online_movable
			else
				blk_online "$n" online_kernel
			fi
		done
		count=$((count + ok))
	done
	echo $count
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
[ -e "$MP/zone_policy" ] || note "no zone_policy parameter: comparing by insmod/rmmod"

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
