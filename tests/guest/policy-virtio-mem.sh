#!/bin/bash
# Zone policy against the kernel's own auto-movable policy, virtio-mem: the
# seed's single virtio-mem device in a 4 GiB VM at ratio 301, scaled down 8x
# (512 MiB boot, one device growing to 3 GiB in 512 MiB steps). For every
# block the device adds, on the same guest state, the kernel's policy
# (memory_hotplug.online_policy=auto-movable, ours off) and ours (granule =
# block size, kernel back to contig-zones) are asked which zone valid_zones
# offers first, then the block is onlined through ours. Both answers and the
# zone the block lands in must agree block for block, and the layout must be
# the seed's: the first 1.5 GiB (3 x boot) Movable, then Normal, Movable x3,
# Normal, ... (Normal memory of the device allows more Movable in it).
# mhp-guest: --mem 512M --maxmem 4G --vmem 3G,requested=0 --append "memhp_default_state=offline memory_hotplug.online_policy=auto-movable memory_hotplug.auto_movable_ratio=301"
# mhp-timeout: 300
. /mhp/lib.sh

KP=/sys/module/memory_hotplug/parameters
MP=/sys/module/mhp_online/parameters
STEP_MB=512
TOTAL_MB=3072
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
lsmem
