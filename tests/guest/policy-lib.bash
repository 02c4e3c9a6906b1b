# shellcheck shell=bash
# Shared by the zone-policy guest tests (sourced after /mhp/lib.sh): switch
# plain onlining between the kernel's own auto-movable policy and ours, ask
# both about one block on the same guest state, and measure which 1 GiB
# granules can go offline as a whole once the kernel zones are full.
# Callers may set LOAD_ARGS before sourcing.

KP=/sys/module/memory_hotplug/parameters
MP=/sys/module/mhp_online/parameters
BLK_MB=$(($(blk_bytes) >> 20))
LOAD_ARGS=${LOAD_ARGS:-"zone_policy=ratio ratio=301 numa_aware=1 granule_mb=$BLK_MB"}

# ours_off: blocks onlined without a zone are the kernel's to decide.
ours_off() {
	echo off >"$MP/zone_policy"
	echo auto-movable >"$KP/online_policy"
}

# ours_on: they are ours; the kernel's own policy goes back to its default.
ours_on() {
	echo contig-zones >"$KP/online_policy"
	echo ratio >"$MP/zone_policy"
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
