#!/bin/bash
# The seed's experiment with the module: 16 DIMMs of 128 MiB hot-added one
# at a time into a 1 GiB guest with auto-onlining, then "offline" written
# to every hot-added block; count the blocks that refuse. The zone policy
# is off, so all of them go to ZONE_NORMAL as on a stock kernel, where the
# memmap of each new DIMM is allocated.
#  - tail (this file): fresh pages are used last, the memmaps gather in
#    the first hot-added block (the only early ZONE_NORMAL memory): about
#    one block stuck.
#  - head (module-chain-head.sh runs this file with PLACEMENT=head): fresh
#    pages are used first, each block hosts the memmap of a later one: a
#    chain, about every other block stuck.
# Both counts go to results.json as metrics chain-stuck-<placement>.
# mhp-guest: --mem 1G --maxmem 4G --slots 20 --append "memhp_default_state=online"
# mhp-timeout: 300
. /mhp/lib.sh

placement=${PLACEMENT:-tail}
ndimms=16

mhp_load placement="$placement" zone_policy=off ||
	{ tap_fail load "insmod failed"; exit 0; }

wait_online() {
	local tries
	for ((tries = 0; tries < 100; tries++)); do
		[ "$(blk_state "$1")" = online ] && return 0
		sleep 0.1
	done
	return 1
}

added=()
for ((i = 0; i < ndimms; i++)); do
	id=$(dimm_add 128M) || { tap_fail "hot-add-$i" "QMP hot-add failed"; exit 0; }
	b=$(dimm_blocks "$id")
	wait_online "$b" || { tap_fail "auto-online-$i" "block $b stays $(blk_state "$b")"; exit 0; }
	added+=("$b")
done
tap_ok "hot-add-$ndimms-auto-online"
blk_map "${added[@]}"

stuck=()
for b in "${added[@]}"; do
	blk_offline "$b" || stuck+=("$b")
done
note "placement=$placement: ${#stuck[@]} of $ndimms hot-added blocks cannot be offlined: ${stuck[*]}"
metric "chain-stuck-$placement" "${#stuck[@]}"
metric "chain-offlinable-$placement" $((ndimms - ${#stuck[@]}))

if [ "$placement" = head ]; then
	# The seed's chain: roughly every other block (8 of 16); at least 6.
	tap_check head-chain-every-other-block test ${#stuck[@]} -ge $((ndimms * 3 / 8))
else
	# Only the first block (the memmaps' home); at most 2 of 16.
	tap_check tail-few-stuck test ${#stuck[@]} -le $((ndimms / 8))
fi
# Stuck blocks are in ZONE_NORMAL, as the stock kernel would put them.
for b in "${stuck[@]}"; do
	[ "$(blk_zone "$b")" = Normal ] || { tap_fail stuck-in-normal "block $b in $(blk_zone "$b")"; break; }
done
tap_check unload mhp_unload
