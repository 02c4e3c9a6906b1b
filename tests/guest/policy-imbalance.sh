#!/bin/bash
# Zone imbalance: a 512 MiB guest grows to 4.5 GiB (9x) by DIMMs and then
# runs a job that needs kernel memory: inodes and dentries of many tmpfs
# files (slab) and 768 MiB of ramfs pages (ramfs asks for GFP_HIGHUSER: not
# movable, not reclaimable, so like page tables and slab it can only use the
# kernel zones). Twice in the same guest: first with every hot-added block
# onlined to ZONE_MOVABLE (what "online_movable" auto-onlining does), then,
# after unplugging those DIMMs, with the same DIMMs onlined by our policy
# (defaults: ratio 301, granule 1 GiB).
# The job takes kernel memory in 16 MiB steps and stops while the kernel
# zones still have 32 MiB above their high watermark: going on would end in
# the OOM killer (whose report would fail the run) with gigabytes free in
# ZONE_MOVABLE. Outcome: all-movable starves, ours completes; both reported
# as metrics.
# mhp-guest: --mem 512M --maxmem 5G --append "memhp_default_state=offline"
# mhp-timeout: 420
. /mhp/lib.sh

DIMMS=8
DIMM_MB=512
GOAL_MB=768
CHUNK_MB=16
FILES=4000

# zone_free_mb movable|kernel: MiB free above the high watermark.
zone_free_mb() {
	awk -v want="$1" '
		/^Node/ { zone = $4 }
		/^ +pages free/ { free = $3 }
		/^ +high +[0-9]/ {
			if (zone == "Device")
				next
			if ((zone == "Movable") == (want == "movable"))
				sum += free - $2
		}
		END { printf "%d\n", sum * 4 / 1024 }' /proc/zoneinfo
}

# add_dimms HOW: hot-add the DIMMs, online every block with HOW; prints ids.
add_dimms() {
	local how=$1 d id n
	for ((d = 0; d < DIMMS; d++)); do
		id=$(dimm_add ${DIMM_MB}M) || return 1
		for n in $(dimm_blocks "$id"); do
			blk_online "$n" "$how" || echo "block $n: online $how failed" >&2
		done
		echo "$id"
	done
}

# workload: the kernel-memory job; prints the MiB of ramfs it got.
workload() {
	local i got=0
	mkdir -p /mnt/t /mnt/r
	mount -t tmpfs none /mnt/t && mount -t ramfs none /mnt/r || return 1
	for ((i = 0; i < FILES; i++)); do
		: >/mnt/t/f$i
	done
	while [ $got -lt $GOAL_MB ]; do
		[ "$(zone_free_mb kernel)" -ge $((2 * CHUNK_MB)) ] || break
		dd if=/dev/zero of=/mnt/r/c$got bs=1M count=$CHUNK_MB 2>/dev/null || break
		got=$((got + CHUNK_MB))
	done
	echo $got
}

workload_end() {
	umount /mnt/r
	umount /mnt/t
}

# Keep the test itself out of the OOM killer's way.
echo -1000 >/proc/self/oom_score_adj

note "phase 1: every hot-added block online_movable"
ids=$(add_dimms online_movable) || { tap_fail phase1-add-dimms "hot-add failed"; exit 0; }
a_movable=$(hotadded_count Movable)
a_normal=$(hotadded_count Normal)
a_got=$(workload)
a_kfree=$(zone_free_mb kernel)
a_mfree=$(zone_free_mb movable)
note "all-movable: $a_movable Movable / $a_normal Normal blocks; job got $a_got of $GOAL_MB MiB kernel memory; kernel zones $a_kfree MiB free, ZONE_MOVABLE $a_mfree MiB free"
workload_end
# shellcheck disable=SC2086
left=$(unplug_dimms $ids)
[ -z "$left" ] || note "DIMMs not unplugged after phase 1: $left"
tap_check phase1-dimms-unplugged test -z "$left"

note "phase 2: the same DIMMs onlined by mhp_online's policy"
mhp_load zone_policy=ratio || { tap_fail load-module "insmod failed"; exit 0; }
add_dimms online >/dev/null || { tap_fail phase2-add-dimms "hot-add failed"; exit 0; }
b_movable=$(hotadded_count Movable)
b_normal=$(hotadded_count Normal)
b_got=$(workload)
b_kfree=$(zone_free_mb kernel)
b_mfree=$(zone_free_mb movable)
note "policy: $b_movable Movable / $b_normal Normal blocks; job got $b_got of $GOAL_MB MiB kernel memory; kernel zones $b_kfree MiB free, ZONE_MOVABLE $b_mfree MiB free"
workload_end

metric imbalance-allmovable-kernel-mib "$a_got"
metric imbalance-allmovable-movable-free-mib "$a_mfree"
metric imbalance-policy-kernel-mib "$b_got"
metric imbalance-policy-movable-blocks "$b_movable"
metric imbalance-policy-normal-blocks "$b_normal"
tap_check allmovable-all-blocks-movable test "$a_normal" -eq 0 -a "$a_movable" -eq $((DIMMS * DIMM_MB * 1048576 / $(blk_bytes)))
tap_check allmovable-starves-kernel test "$a_got" -lt $GOAL_MB
tap_check policy-feeds-kernel test "$b_got" -eq $GOAL_MB
tap_check policy-still-gives-movable test "$b_movable" -gt 0
lsmem
