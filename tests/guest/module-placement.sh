#!/bin/bash
# Placement by observation: after a block is onlined, the next unmovable
# allocations (the memmaps of the next four hot-added DIMMs, 2 MiB each)
# land in that block with placement=head and never with placement=tail.
# Pages in use are those /proc/kpageflags does not mark BUDDY (free).
# Four, not one: an UNMOVABLE order-9 request is served first from free
# pages already on the UNMOVABLE lists (leftover halves of pageblocks
# stolen earlier, wherever they are: the every-other-block pattern of the
# seed); only then is a max-order MOVABLE chunk taken from the freelist
# head, which is the freshly onlined block with head placement.
# The zone policy is off so every block goes to ZONE_NORMAL, where kernel
# allocations come from; a first Normal block P holds older free memory
# for tail to fall back on.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=offline"
# mhp-timeout: 240
. /mhp/lib.sh

DBG=/sys/kernel/debug/mhp_online
PARAM=/sys/module/mhp_online/parameters

# used_pages BLOCK: pages of the block not free in the buddy allocator.
used_pages() {
	local n=$(($(blk_bytes) / 4096))
	dd if=/proc/kpageflags bs=$((n * 8)) skip="$1" count=1 2>/dev/null |
		od -An -v -tx8 |
		awk 'BEGIN { hex = "0123456789abcdef" }
		     { for (i = 1; i <= NF; i++) {
			d = index(hex, substr($i, 14, 1)) - 1	# bits 8..11
			if (int(d / 4) % 2 == 0) used++		# KPF_BUDDY = bit 10
		     } }
		     END { print used + 0 }'
}

# add_online: hot-add a 128 MiB DIMM, online it as plain "online"; prints block.
add_online() {
	local id b
	id=$(dimm_add 128M) || return 1
	b=$(dimm_blocks "$id")
	blk_online "$b" || return 1
	echo "$b"
}

# observe PLACEMENT: online block X with it, hot-add four more DIMMs, count X.
observe() {
	local x used_before used_after
	echo "$1" >$PARAM/placement
	x=$(add_online) || { tap_fail "online-$1" "hot-add/online failed"; return 1; }
	used_before=$(used_pages "$x")
	for _ in 1 2 3 4; do
		dimm_add 128M >/dev/null || { tap_fail "next-dimm-$1" "hot-add failed"; return 1; }
	done
	used_after=$(used_pages "$x")
	note "$1: block $x zone $(blk_zone "$x"): $used_before pages in use after onlining, $used_after after the next four hot-adds"
	metric "placement-$1-used-pages" "$used_after"
	echo "$((used_after - used_before))"
}

mhp_load placement=tail zone_policy=off || { tap_fail load "insmod failed"; exit 0; }
p=$(add_online) || { tap_fail setup "first Normal block"; exit 0; }
note "older Normal memory: block $p ($(blk_zone "$p"))"

tail_delta=$(observe tail | tail -1)
head_delta=$(observe head | tail -1)
# The memmap of a 128 MiB block is 2 MiB = 512 pages.
memmap=$(($(blk_bytes) / 4096 * 64 / 4096)) # 64-byte struct pages, in pages
tap_check head-next-alloc-lands-in-block test "${head_delta:-0}" -ge "$memmap"
tap_check tail-next-alloc-elsewhere test "${tail_delta:-999999}" -lt $((memmap / 4))
cat $DBG/blocks
tap_check unload mhp_unload
