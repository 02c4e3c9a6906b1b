#!/bin/bash
# mhp_online.ko basics: load, online/offline blocks with each placement,
# unload. The debugfs blocks file must agree with sysfs about those blocks,
# and the zones' present/managed pages must be what the stock kernel gives
# for the same blocks (head placement keeps chunks back until MEM_ONLINE,
# so this is where a leak would show). Also: a stock driver that needs the
# online_page callback (virtio_mem, here without a device) makes the module
# step aside while it is loaded and take the callback back when it goes.
# module-basic-mom.sh runs this file with memmap_on_memory, where each
# block hosts its own memmap and the callback sees a smaller first chunk.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=offline"
# mhp-timeout: 240
. /mhp/lib.sh
set -u

DBG=/sys/kernel/debug/mhp_online
memtotal() { awk '/MemTotal/ { print $2 }' /proc/meminfo; }

# Pages the callback gets per block: all of it, or less its own memmap.
block_pages=$(($(blk_bytes) / 4096))
online_pages=$block_pages
if [ "${MEMMAP_ON_MEMORY:-0}" = 1 ]; then
	mom=$(cat /sys/module/memory_hotplug/parameters/memmap_on_memory)
	tap_check memmap-on-memory-enabled test "$mom" = Y
	online_pages=$((block_pages - block_pages * 64 / 4096))
fi

# Four blocks: one DIMM, or four one-block DIMMs with memmap_on_memory
# (6.1 uses it only for ranges of exactly one block).
ids=() blocks=()
if [ "${MEMMAP_ON_MEMORY:-0}" = 1 ]; then sizes="128M 128M 128M 128M"; else sizes=512M; fi
for size in $sizes; do
	id=$(dimm_add "$size") || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
	ids+=("$id")
	read -r -a more < <(dimm_blocks "$id" | xargs)
	blocks+=("${more[@]}")
done

# Stock reference: online all four blocks without the module.
for n in "${blocks[@]}"; do blk_online "$n" online_movable; done
stock_counts=$(zone_counts)
stock_total=$(memtotal)
for n in "${blocks[@]}"; do blk_offline "$n"; done
base_counts=$(zone_counts)

tap_check load mhp_load zone_policy=off
tap_check callback-held test "$(mhp_summary callback)" = held
tap_check debugfs-files test -r $DBG/blocks -a -r $DBG/decisions -a -r $DBG/summary

# Blocks 0,1 with tail, 2,3 with head; all MOVABLE so offline always works.
echo tail >/sys/module/mhp_online/parameters/placement
blk_online "${blocks[0]}" online_movable
blk_online "${blocks[1]}" online_movable
echo head >/sys/module/mhp_online/parameters/placement
blk_online "${blocks[2]}" online_movable
blk_online "${blocks[3]}" online_movable
tap_check managed-as-stock test "$(zone_counts)" = "$stock_counts"
tap_check memtotal-as-stock test "$(memtotal)" -eq "$stock_total"
cat $DBG/blocks

# One line per block: state and zone as sysfs says, placement as set.
check_rows() {
	local want_state=$1 n i=0 place bad=0 row
	for n in "${blocks[@]}"; do
		place="tail"
		[ $i -ge 2 ] && place="head"
		i=$((i + 1))
		row=$(awk -v b="$n" '$1 == b' $DBG/blocks)
		read -r _ pfn node zone state placement pages _ <<<"$row"
		if [ "$state" != "$(blk_state "$n")" ] || [ "$state" != "$want_state" ]; then
			echo "block $n: debugfs state '$state', sysfs $(blk_state "$n")"; bad=1
		fi
		[ "$want_state" = online ] && [ "$zone" != "$(blk_zone "$n")" ] &&
			{ echo "block $n: debugfs zone '$zone', sysfs $(blk_zone "$n")"; bad=1; }
		[ -e "$MHP_SYS_MEM/memory$n/node$node" ] ||
			{ echo "block $n: no node$node link"; bad=1; }
		[ "$pfn" = "$(printf '%#x' $((n * $(blk_bytes) / 4096)))" ] ||
			{ echo "block $n: start_pfn $pfn"; bad=1; }
		[ "$placement" = "$place" ] || { echo "block $n: placement $placement, want $place"; bad=1; }
		[ "$pages" -eq "$online_pages" ] || { echo "block $n: pages $pages, want $online_pages"; bad=1; }
	done
	return $bad
}
tap_check blocks-match-sysfs-online check_rows online
tap_check summary-pages test "$(mhp_summary pages_tail)" -eq $((2 * online_pages)) -a \
	"$(mhp_summary pages_head)" -eq $((2 * online_pages))
tap_check no-untracked-pages test "$(mhp_summary pages_untracked)" -eq 0

offl=0
for n in "${blocks[@]}"; do blk_offline "$n" && offl=$((offl + 1)); done
tap_check offline-all test $offl -eq 4
tap_check blocks-match-sysfs-offline check_rows offline
tap_check counts-back test "$(zone_counts)" = "$base_counts"

# A driver that needs the callback loads: we step aside, then take it back.
if kmod_load virtio_mem; then
	tap_check aside-for-virtio-mem test "$(mhp_summary callback)" = aside
	rmmod virtio_mem
	tap_check taken-back test "$(mhp_summary callback)" = held
else
	tap_fail aside-for-virtio-mem "insmod virtio_mem failed"
fi

# Unload: callback restored (virtio_mem could take it now), files gone.
tap_check unload mhp_unload
tap_check debugfs-gone test ! -e $DBG
blk_online "${blocks[0]}" online_movable
tap_check online-after-unload test "$(blk_state "${blocks[0]}")" = online
blk_offline "${blocks[0]}"
tap_check counts-after-unload test "$(zone_counts)" = "$base_counts"
deleted=0
for id in "${ids[@]}"; do host dimm-del "$id" 30 >/dev/null && deleted=$((deleted + 1)); done
tap_check device-del test $deleted -eq ${#ids[@]}
