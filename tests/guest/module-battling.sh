#!/bin/bash
# Battling managers: a udev-like loop onlines every hot-added block it finds
# offline, every 20 ms, while DIMMs are being removed (the guest offlines
# their blocks, the loop onlines them again, the ACPI eject offlines them
# itself) and while a virtio-mem device shrinks to 0. Two rounds in one
# boot, each with two fresh DIMMs and the device grown to 1 GiB again:
# stock (no module), then mhp_online with its defaults. The module must
# neither make this worse (DIMMs removed and virtio-mem bytes returned at
# least as in the stock round) nor break (no WARNING or oops: the runner;
# the module unloads at the end).
# mhp-guest: --mem 1G --maxmem 8G --vmem 2G,requested=0 --append "memhp_default_state=offline"
# mhp-timeout: 600
. /mhp/lib.sh
set -u

FIRST=$(hotadded_first)

# reonliner: the other manager. Counts the onlines it won.
reonliner() {
	local n=0 f b st
	while [ ! -e /tmp/stop-battle ]; do
		for f in "$MHP_SYS_MEM"/memory*/state; do
			b=${f%/state}
			b=${b##*memory}
			[ "$b" -ge "$FIRST" ] || continue
			read -r st <"$f" 2>/dev/null || continue
			if [ "$st" = offline ] && echo online >"$f" 2>/dev/null; then
				n=$((n + 1))
			fi
		done
		sleep 0.02
	done
	echo "$n" >/tmp/reonlines
}

# round NAME: one battle; sets REMOVED, LEFT and WON.
round() {
	local name=$1 ids=() id tries
	rm -f /tmp/stop-battle
	reonliner &
	local loop=$!
	for _ in 1 2; do
		id=$(dimm_add 256M) || { tap_fail "$name-dimm-add" "QMP hot-add failed"; return 1; }
		ids+=("$id")
	done
	host vmem-set vm0 1G >/dev/null
	tap_check "$name-vmem-plugged" host vmem-wait vm0 1G 120
	tap_check "$name-all-online" wait_for 60 hotadded_all_online
	blk_map $(hotadded_blocks) | awk 'NR == 1 || $4 != "-"' | head -40
	REMOVED=0
	for id in "${ids[@]}"; do
		for ((tries = 0; tries < 5; tries++)); do
			if dimm_try_unplug "$id"; then
				REMOVED=$((REMOVED + 1))
				break
			fi
		done
	done
	LEFT=$(vmem_unplug_all vm0 90)
	touch /tmp/stop-battle
	wait "$loop"
	read -r WON </tmp/reonlines
	note "$name: $REMOVED of 2 DIMMs removed, virtio-mem left ${LEFT} bytes plugged of 1 GiB, the loop onlined $WON blocks"
	metric "$name-dimms-removed" "$REMOVED"
	metric "$name-vmem-left-bytes" "$LEFT"
	metric "$name-reonlines" "$WON"
	# The battle happened: the loop onlined the new blocks at least.
	tap_check "$name-loop-onlined" test "$WON" -gt 0
}

kmod_load virtio_mem || { tap_fail load-virtio-mem "insmod virtio_mem failed"; exit 0; }
round stock
s_removed=$REMOVED s_left=$LEFT
mhp_load || { tap_fail load "insmod failed"; exit 0; }
tap_check zone-policy-on test "$(mhp_summary zone_policy)" = ratio
round module
tap_check dimms-not-worse test "$REMOVED" -ge "$s_removed"
tap_check vmem-not-worse test "$LEFT" -le "$s_left"
cat /sys/kernel/debug/mhp_online/decisions | tail -20
tap_check unload mhp_unload
