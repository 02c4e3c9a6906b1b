#!/bin/bash
# virtio-mem with 2 MiB device blocks plugs and unplugs parts of a 128 MiB
# memory block; the parts not plugged are PageOffline pages with refcount 0,
# which offlining skips. After each resize step of the device, the plugged
# bytes of its online blocks must be the same three ways: the device's own
# size (QEMU), the module's debugfs blocks (block size minus pages_offline),
# and memmap-chains' JSON (plugged_bytes). At the end, with blocks only
# partly plugged, the tracer's pinned blocks must be exactly those that
# refuse to go offline. Zone policy off: the kernel onlines the blocks to
# ZONE_NORMAL, so memmaps and kernel allocations land in them, partly
# plugged ones included, and some refuse.
# mhp-guest: --mem 1G --maxmem 4G --vmem 2G,block=2M --append "memhp_default_state=online"
# mhp-timeout: 600
. /mhp/lib.sh
. /mhp/tests/chains-lib.bash

DBG=/sys/kernel/debug/mhp_online
# Not multiples of the 128 MiB memory block: the device plugs parts of one.
STEPS="300M 702M 450M 1090M 386M"

tap_check module-load mhp_load zone_policy=off
tap_check tracer-pin mc_start
kmod_load virtio_mem || { tap_fail load-virtio-mem "insmod virtio_mem failed"; exit 0; }
host vmem-wait vm0 0 30 >/dev/null

# The device's blocks: [memaddr, memaddr + max-size) in memory blocks.
read -r addr max < <(host memdevs | jq -r '.[] | select(.data.id == "vm0") | "\(.data.memaddr) \(.data["max-size"])"')
bs=$(blk_bytes)
first=$((addr / bs))
last=$(((addr + max) / bs - 1))
note "virtio-mem vm0: blocks $first..$last, device block size $(host memdevs | jq '.[] | select(.data.id == "vm0") | .data["block-size"]')"

# module_plugged: bytes plugged in the device's online blocks, per the
# module's blocks file (column 14, pages_offline; -1 = not counted).
module_plugged() {
	awk -v lo="$first" -v hi="$last" -v bs="$bs" '
		NR > 1 && $1 >= lo && $1 <= hi && $5 == "online" {
			if ($14 < 0) { bad = 1 } else { s += bs - $14 * 4096 } }
		END { if (bad) print -1; else printf "%d\n", s }' $DBG/blocks
}

# tracer_plugged JSON: the same per memmap-chains' JSON.
tracer_plugged() {
	jq --argjson lo "$first" --argjson hi "$last" \
		'[.blocks[] | select(.id >= $lo and .id <= $hi and .state == "online") | .plugged_bytes] | add // 0' "$1"
}

# partial: the device's online blocks only partly plugged, "id:MiB" each.
partial() {
	awk -v lo="$first" -v hi="$last" -v bs="$bs" '
		NR > 1 && $1 >= lo && $1 <= hi && $5 == "online" && $14 > 0 {
			printf "%s%d:%d", sep, $1, (bs - $14 * 4096) / 1048576; sep = " " }' $DBG/blocks
}

# plugged_list: every online block of the device as "id:MiB plugged".
plugged_list() {
	awk -v lo="$first" -v hi="$last" -v bs="$bs" '
		NR > 1 && $1 >= lo && $1 <= hi && $5 == "online" {
			printf "%s%d:%d", sep, $1, (bs - $14 * 4096) / 1048576; sep = " " }' $DBG/blocks
}

i=0
for size in $STEPS; do
	i=$((i + 1))
	host vmem-set vm0 "$size" >/dev/null
	# The device may stop short of a shrink (a sub-block it cannot
	# unplug): the numbers must match whatever it reached.
	host vmem-wait vm0 "$size" 120 >/dev/null || true
	dev=$(host vmem-size vm0)
	# virtio_mem adds and onlines what it plugged right after plugging.
	wait_for 60 output_is = "$dev" module_plugged || true
	mod=$(module_plugged)
	mc_json "$MC_DIR/step$i.json"
	trc=$(tracer_plugged "$MC_DIR/step$i.json")
	note "step $i: requested $size; plugged: device $((dev >> 20)) MiB, module $((mod >> 20)) MiB, tracer $((trc >> 20)) MiB; partly plugged blocks (id:MiB): [$(partial)]; all (id:MiB): [$(plugged_list)]"
	metric "step$i-device-mib" $((dev >> 20))
	tap_check "step$i-module-equals-device" test "$mod" = "$dev"
	tap_check "step$i-tracer-equals-device" test "$trc" = "$dev"
done
tap_check partly-plugged-blocks-seen test -n "$(partial)"
tap_check json-valid mc_validate "$MC_DIR/step$i.json"
"$MC" --summary | grep "partly plugged" || true

mapfile -t online < <(awk -v lo="$first" -v hi="$last" 'NR > 1 && $1 >= lo && $1 <= hi && $5 == "online" { print $1 }' $DBG/blocks)
mc_pinned_equals_refused subblocks "${online[@]}"
