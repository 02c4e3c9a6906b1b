#!/bin/bash
# rmmod at any time: a background loop onlines and offlines four blocks
# while the module is loaded and unloaded again and again (placement
# alternating head/tail, zone policy on). No oops or WARNING (the runner
# checks the console), every load/unload succeeds, and the zones' present
# and managed pages end where the same cycles leave them without the
# module. movable_node makes the stock kernel put plain "online" blocks in
# ZONE_MOVABLE too, so every offline can succeed in both runs.
# --tcg-threads multi: each vCPU on its own host thread, so load/unload and
# onlining really run at the same instant, not in turns (the other tests
# use one thread, which keeps the emulator from oopsing on patched kernel
# text; see scripts/guest --help).
# mhp-guest: --mem 1G --maxmem 4G --tcg-threads multi
# mhp-guest: --append "memhp_default_state=offline movable_node"
# mhp-timeout: 300
. /mhp/lib.sh

id=$(dimm_add 512M) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
read -r -a blocks < <(dimm_blocks "$id" | xargs)
base=$(zone_counts)

# cycle N: online all blocks, offline all blocks, N times (0 = until /tmp/stop).
cycle() {
	local i=0 n
	while [ "$1" = 0 ] && [ ! -e /tmp/stop ] || [ $i -lt "$1" ]; do
		for n in "${blocks[@]}"; do blk_online "$n"; done
		for n in "${blocks[@]}"; do blk_offline "$n"; done
		i=$((i + 1))
	done
	echo $i >/tmp/cycles
}

# all_offline: offline what is still online (a busy page may need a retry).
all_offline() {
	local n tries
	for n in "${blocks[@]}"; do
		for ((tries = 0; tries < 5; tries++)); do
			[ "$(blk_state "$n")" = offline ] && break
			blk_offline "$n" || sleep 0.2
		done
		[ "$(blk_state "$n")" = offline ] || return 1
	done
}

# With the module: load/unload rounds while the loop runs.
rm -f /tmp/stop
cycle 0 &
loop=$!
rounds=12 loads=0 unloads=0
for ((r = 0; r < rounds; r++)); do
	p="tail"
	[ $((r % 2)) = 1 ] && p="head"
	mhp_load placement=$p && loads=$((loads + 1))
	sleep "0.$((RANDOM % 10))"
	mhp_unload && unloads=$((unloads + 1))
	sleep "0.$((RANDOM % 5))"
done
touch /tmp/stop
wait $loop
cycles=$(cat /tmp/cycles)
note "$rounds load/unload rounds during $cycles online/offline cycles of ${#blocks[@]} blocks"
metric rmmod-race-cycles "$cycles"
tap_check all-loads-ok test $loads -eq $rounds
tap_check all-unloads-ok test $unloads -eq $rounds
tap_check cycles-ran test "$cycles" -ge 2
tap_check blocks-offline-with-module all_offline
with=$(zone_counts)

# The same number of cycles without the module.
cycle "$cycles"
tap_check blocks-offline-without-module all_offline
without=$(zone_counts)
echo "base:"; echo "$base"; echo "with module:"; echo "$with"; echo "without:"; echo "$without"
tap_check counts-balanced-vs-without-module test "$with" = "$without"
tap_check counts-back-to-base test "$with" = "$base"
tap_check module-gone test ! -d /sys/module/mhp_online
# And the module still works afterwards.
tap_check reload mhp_load placement=head
blk_online "${blocks[0]}"
tap_check online-after-race test "$(blk_state "${blocks[0]}")" = online
blk_offline "${blocks[0]}"
tap_check final-unload mhp_unload
