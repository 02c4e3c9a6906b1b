#!/bin/bash
# zone_policy=adaptive with DIMMs. Hot-added blocks go MOVABLE first. The
# watcher converts them when a node's kernel headroom (free kernel-zone
# pages above the high watermarks) is below kernel_headroom_mb, and back
# once it has stayed at 1.5 x that for adaptive_calm_s, if it holds no
# unmovable pages by then:
#  1. both directions, deterministically: kernel_headroom_mb raised far
#     above the headroom makes blocks go to the kernel zone (lowest DIMMs
#     first), lowered again they come back, except a block the kernel
#     filled with unmovable pages meanwhile: the log says so, and the
#     kernel cannot offline it either; the decision log names each
#     conversion with its reason;
#  2. a DIMM onlined explicitly online_movable is never converted, though
#     it is the lowest (the first the policy would pick);
#  3. a job that needs kernel memory (ramfs pages: GFP_HIGHUSER, never
#     ZONE_MOVABLE) beyond the boot memory completes: blocks are converted
#     while it runs, no OOM kill;
#  4. a DIMM device_del while conversions run: the DIMM goes, no block is
#     left offline, nothing is stranded;
#  5. rmmod while the watcher converts: returns at once, every block
#     online, present pages as sysfs says.
# The runner fails the run on any WARNING, oops or hang.
# mhp-guest: --mem 512M --maxmem 5G --append "memhp_default_state=online"
# mhp-timeout: 420
. /mhp/lib.sh
. /mhp/tests/adaptive-lib.bash

MP=/sys/module/mhp_online/parameters
DBG=/sys/kernel/debug/mhp_online

# owner N: who chose block N's zone, from the blocks file.
owner() {
	awk -v b="$1" 'NR > 1 && $1 == b { print $11 }' $DBG/blocks
}

# all_refuse_offline N...: the kernel cannot offline any of the blocks
# (one that it can is put back online, in the kernel zone as it was).
all_refuse_offline() {
	local n ok=0
	for n in "$@"; do
		if blk_offline "$n" 2>/dev/null; then
			echo "block $n offlined: it held no unmovable pages"
			blk_online "$n" online_kernel
			ok=1
		fi
	done
	return $ok
}

echo -1000 >/proc/self/oom_score_adj
mhp_load zone_policy=adaptive kernel_headroom_mb=32 adaptive_calm_s=3 ||
	{ tap_fail load "insmod failed"; exit 0; }
tap_check summary-adaptive test "$(mhp_summary zone_policy)" = adaptive
tap_check watcher-can-convert test "$(mhp_summary adaptive_converts)" = yes

# The lowest DIMM: onlined explicitly, online_movable.
explicit=$(dimm_add 256M) || { tap_fail dimm-add "hot-add failed"; exit 0; }
read -r -a xblocks < <(dimm_blocks "$explicit" | xargs)
for n in "${xblocks[@]}"; do blk_offline "$n"; blk_online "$n" online_movable; done
ids=()
for _ in 1 2 3 4 5; do
	id=$(dimm_add 256M) || { tap_fail dimm-add "hot-add failed"; exit 0; }
	ids+=("$id")
done
tap_check movable-first test "$(hotadded_count Normal)" -eq 0 -a "$(hotadded_count Movable)" -eq 12
tap_check decided-headroom-allows-movable \
	test "$(grep -c 'online Movable node .*kernel headroom allows movable' $DBG/decisions)" -ge 10
tap_check explicit-owner test "$(owner "${xblocks[0]}")" = explicit

# 1. Both directions: ask for 200 MiB more headroom than there is.
adaptive_to_kernel_phase
tap_check to-kernel-lowest-dimm-first test "$first_to_kernel" -eq "$(dimm_blocks "${ids[0]}" | head -1)"
tap_check explicit-untouched test "$(blk_zone "${xblocks[0]}")" = Movable -a \
	"$(blk_zone "${xblocks[1]}")" = Movable -a "$(owner "${xblocks[0]}")" = explicit
adaptive_back_phase
# A block the kernel filled with unmovable pages while it needed them
# stays: the log says why, and the kernel agrees (offlining it fails).
if [ ${#stuck[@]} -gt 0 ]; then
	tap_check stuck-really-unmovable all_refuse_offline "${stuck[@]}"
else
	tap_check stuck-really-unmovable true
fi
tap_check counted test "$(mhp_summary adaptive_to_kernel)" -ge 2 -a "$(mhp_summary adaptive_to_movable)" -ge 1
metric adaptive-to-kernel-step1 "$(mhp_summary adaptive_to_kernel)"
metric adaptive-to-movable-step1 "$(mhp_summary adaptive_to_movable)"

# 3. A job that needs kernel memory beyond the boot memory.
oom0=$(oom_kills)
tk0=$(mhp_summary adaptive_to_kernel)
mkdir -p /mnt/r
mount -t ramfs none /mnt/r
goal=$(($(headroom_mb) + 300))
got=0
while [ $got -lt $goal ]; do
	dd if=/dev/zero of=/mnt/r/c$got bs=1M count=8 2>/dev/null || break
	got=$((got + 8))
	nap 0.05
done
note "ramfs job: $got of $goal MiB, $(($(mhp_summary adaptive_to_kernel) - tk0)) blocks converted for it, headroom $(headroom_mb) MiB"
tap_check job-completes test "$got" -ge "$goal"
tap_check job-converted test "$(mhp_summary adaptive_to_kernel)" -gt "$tk0"
tap_check job-no-oom test "$(oom_kills)" -eq "$oom0"
tap_check explicit-untouched-under-pressure test "$(blk_zone "${xblocks[0]}")" = Movable
metric adaptive-job-mib "$got"
metric adaptive-job-conversions $(($(mhp_summary adaptive_to_kernel) - tk0))
rm -f /mnt/r/*
umount /mnt/r

# 4. A DIMM unplugged while conversions run. The newest DIMM is the last
#    one the policy picks for the kernel zone.
last=${ids[4]}
echo "$(($(headroom_mb) + 300))" >$MP/kernel_headroom_mb
nap 0.3
host dimm-del "$last" 60 >/tmp/del.out 2>&1
del_rc=$?
note "device_del $last during conversions: rc $del_rc $(cat /tmp/del.out)"
tap_check dimm-del-during-conversions test $del_rc -eq 0
tap_check nothing-stranded test "$(mhp_summary adaptive_stranded)" -eq 0

# 5. rmmod while the watcher converts (the headroom is still far too high).
echo "$(($(headroom_mb) + 300))" >$MP/kernel_headroom_mb
nap 0.2
t0=$EPOCHREALTIME
tap_check rmmod-during-conversion timeout 30 rmmod mhp_online
note "rmmod took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"
offline=$(blk_list offline | xargs)
tap_check all-blocks-online test -z "$offline"
# Hot-added memory is all Normal or Movable, without holes: their present
# pages must be the online hot-added blocks, nothing half-converted.
present=$(zone_counts | awk '$2 == "Normal" || $2 == "Movable" { p += $3 } END { print p + 0 }')
blocks=$(hotadded_blocks | wc -l)
tap_check present-pages-match-blocks test "$present" -eq $((blocks * $(blk_bytes) / 4096))
lsmem -o RANGE,SIZE,STATE,BLOCK,ZONES
