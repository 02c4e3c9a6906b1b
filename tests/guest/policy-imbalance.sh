#!/bin/bash
# Zone imbalance: a 512 MiB guest grows to 4.5 GiB (9x) by DIMMs and then
# runs a job that needs kernel memory: inodes and dentries of many tmpfs
# files (slab) and 768 MiB of ramfs pages (ramfs asks for GFP_HIGHUSER: not
# movable, not reclaimable, so like page tables and slab it can only use the
# kernel zones). Three times in the same guest, with 8 fresh DIMMs each:
#  1. every hot-added block onlined to ZONE_MOVABLE (what "online_movable"
#     auto-onlining does); the DIMMs are unplugged afterwards;
#  2. blocks onlined as plain "online" with zone_policy=adaptive (defaults):
#     MOVABLE first, blocks converted to the kernel zone as the job needs
#     them and back once it has ended; then as many DIMMs as possible are
#     unplugged;
#  3. the same with zone_policy=ratio (defaults: ratio 301, granule 1 GiB).
# Adaptive runs before ratio on purpose: DIMMs it cannot unplug stay in
# the guest as kernel memory, which only helps the ratio phase (more room
# for the job and, by the ratio, for MOVABLE blocks), so the order does not
# help "adaptive removes at least as many".
# The job takes kernel memory in 16 MiB steps; when the kernel zones are
# down to 32 MiB above their high watermark it waits up to 10 s for more
# (a conversion in flight) and then stops: going on would end in the OOM
# killer (whose report would fail the run) with gigabytes free in
# ZONE_MOVABLE. Checked: all-movable starves, both policies complete, the
# adaptive one by converting blocks to the kernel zone. Reported as metrics
# (not checked): the DIMMs each policy lets go after the job. The adaptive
# policy needs about 5 blocks of kernel memory here, more than one 4-block
# DIMM, and each converted block keeps a few long-lived kernel pages (page
# tables, slab) from the burst, so it can end one DIMM behind the ratio,
# whose 24 kernel-zone blocks keep such pages in the first DIMM. A note
# lists, per policy, what mhp-status finds in each kernel-zone block of
# its DIMMs after the job (and, before that, while the job still holds its
# memory), and another the slab caches those blocks' slab pages belong to.
# IMB_DROP_CACHES=1 (tests/run --env): drop the page cache and reclaimable
# slab after each policy's job, to measure whether reclaimable memory is
# what keeps blocks in the kernel zone. IMB_ADAPTIVE_PARAMS="NAME=VALUE ..."
# (tests/run --env): more module parameters for the adaptive phase.
# mhp-guest: --mem 512M --maxmem 9G --append "memhp_default_state=offline"
# mhp-timeout: 900
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

# kernel_room: the kernel zones have room for two more chunks, now or
# within 10 s.
kernel_room() {
	local tries
	for ((tries = 0; tries < 50; tries++)); do
		[ "$(zone_free_mb kernel)" -ge $((2 * CHUNK_MB)) ] && return 0
		sleep 0.2
	done
	return 1
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
		kernel_room || break
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

# blocks_in ZONE ID...: the online blocks of the DIMMs ID... in ZONE, a line each.
blocks_in() {
	local zone=$1 id n
	shift
	for id in "$@"; do
		for n in $(dimm_blocks "$id"); do
			if [ "$(blk_state "$n")" = online ] && [ "$(blk_zone "$n")" = "$zone" ]; then
				echo "$n"
			fi
		done
	done
}

# in_dimms ZONE ID...: how many online blocks of the DIMMs ID... are in ZONE.
in_dimms() {
	local count
	count=$(blocks_in "$@" | wc -l)
	echo $((count))
}

# kept_why ID...: "block: why;" for each kernel-zone block of the DIMMs
# ID..., as mhp-status reads it (its pages by kind, from /proc/kpageflags).
kept_why() {
	local id
	[ -x /mhp/mhp-status ] || { echo "mhp-status not built"; return; }
	for id in "$@"; do
		dimm_blocks "$id"
	done | xargs | {
		read -r blocks
		/mhp/mhp-status 2>/dev/null | awk -v want=" $blocks " '
			index(want, " " $1 " ") && $5 == "Normal" {
				why = ""
				for (i = 11; i <= NF; i++)
					why = why " " $i
				printf "%s:%s; ", $1, why
			}'
	}
}

# slab_caches ID...: "CACHE COUNT, ..." over the slab pages of the DIMMs'
# kernel-zone blocks, by the cache of each page's first object (kmem_dump_obj()
# through tests/harness/mhp_harness_slabs.c); the 8 most frequent.
slab_caches() {
	local n bp mark
	bp=$(($(blk_bytes) / 4096))
	# The log may be full and wrapping: start after a mark, not a line count.
	mark="policy-imbalance: slab caches $$.$RANDOM"
	echo "$mark" >/dev/kmsg
	for n in $(blocks_in Normal "$@"); do
		insmod /mhp/harness/mhp_harness_slabs.ko start_pfn=$((n * bp)) nr_pages="$bp" &&
			rmmod mhp_harness_slabs
	done
	dmesg | awk -v mark="$mark" 'index($0, mark) { after = 1; delete n; next }
		after && /mhp_harness_slabs: pfn/ { for (i = 1; i < NF; i++) if ($i == "slab") { n[$(i + 1)]++; break } }
		END { for (c in n) print n[c], c }' | sort -rn | head -8 |
		awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 } END { print "" }'
}

# settle ID...: give the adaptive policy the time it takes to give blocks
# back after the job (adaptive_calm_s, then one conversion after another),
# as a hypervisor waits before asking for the memory: until none of the
# DIMMs' blocks is in the kernel zone, or nothing changed for 20 s.
settle() {
	local last now quiet=0
	last=$(in_dimms Normal "$@")
	while [ "$last" -gt 0 ] && [ $quiet -lt 20 ]; do
		sleep 1
		now=$(in_dimms Normal "$@")
		if [ "$now" = "$last" ]; then
			quiet=$((quiet + 1))
		else
			quiet=0
			last=$now
		fi
	done
}

# policy_phase NAME: hot-add the DIMMs onlined by the loaded policy, run the
# job, end it, unplug; sets got, movable and normal (the DIMMs' blocks at
# the end of the job) and left (DIMMs that stay).
policy_phase() {
	local name=$1 ids kfree mfree
	ids=$(add_dimms online) || { tap_fail "$name-add-dimms" "hot-add failed"; exit 0; }
	got=$(workload)
	# shellcheck disable=SC2086
	movable=$(in_dimms Movable $ids)
	# shellcheck disable=SC2086
	normal=$(in_dimms Normal $ids)
	kfree=$(zone_free_mb kernel)
	mfree=$(zone_free_mb movable)
	note "$name: job got $got of $GOAL_MB MiB kernel memory; $movable Movable / $normal Normal blocks; kernel zones $kfree MiB free, ZONE_MOVABLE $mfree MiB free"
	# Whether what keeps the blocks came during the job or after it.
	# shellcheck disable=SC2086
	note "$name: what the DIMMs' kernel-zone blocks hold before the job ends: $(kept_why $ids)"
	workload_end
	[ "${IMB_DROP_CACHES:-0}" = 1 ] && echo 3 >/proc/sys/vm/drop_caches
	# shellcheck disable=SC2086
	settle $ids
	# shellcheck disable=SC2086
	note "$name: what keeps the DIMMs' kernel-zone blocks after the job: $(kept_why $ids)"
	# shellcheck disable=SC2086
	note "$name: slab caches of those blocks' slab pages (first object of each): $(slab_caches $ids)"
	# shellcheck disable=SC2086
	left=$(unplug_dimms $ids | wc -l)
	note "$name: $((DIMMS - left)) of $DIMMS DIMMs unplugged after the job"
}

note "phase 2: the same DIMMs onlined by zone_policy=adaptive"
# shellcheck disable=SC2086
mhp_load zone_policy=adaptive ${IMB_ADAPTIVE_PARAMS:-} || { tap_fail load-module "insmod failed"; exit 0; }
policy_phase adaptive
c_got=$got c_movable=$movable c_normal=$normal c_left=$left
c_to_kernel=$(mhp_summary adaptive_to_kernel)
c_to_movable=$(mhp_summary adaptive_to_movable)
save_file adaptive-decisions.txt /sys/kernel/debug/mhp_online/decisions

note "phase 3: the same DIMMs onlined by zone_policy=ratio"
echo ratio >/sys/module/mhp_online/parameters/zone_policy ||
	{ tap_fail ratio-policy "zone_policy=ratio refused"; exit 0; }
policy_phase ratio
b_got=$got b_movable=$movable b_normal=$normal b_left=$left

metric imbalance-allmovable-kernel-mib "$a_got"
metric imbalance-allmovable-movable-free-mib "$a_mfree"
metric imbalance-policy-kernel-mib "$b_got"
metric imbalance-policy-movable-blocks "$b_movable"
metric imbalance-policy-normal-blocks "$b_normal"
metric imbalance-policy-dimms-removed $((DIMMS - b_left))
metric imbalance-adaptive-kernel-mib "$c_got"
metric imbalance-adaptive-movable-blocks "$c_movable"
metric imbalance-adaptive-normal-blocks "$c_normal"
metric imbalance-adaptive-dimms-removed $((DIMMS - c_left))
metric imbalance-adaptive-to-kernel "$c_to_kernel"
metric imbalance-adaptive-to-movable "$c_to_movable"
tap_check allmovable-all-blocks-movable test "$a_normal" -eq 0 -a "$a_movable" -eq $((DIMMS * DIMM_MB * 1048576 / $(blk_bytes)))
tap_check allmovable-starves-kernel test "$a_got" -lt $GOAL_MB
tap_check policy-feeds-kernel test "$b_got" -eq $GOAL_MB
tap_check policy-still-gives-movable test "$b_movable" -gt 0
tap_check adaptive-feeds-kernel test "$c_got" -eq $GOAL_MB
tap_check adaptive-converted-to-kernel test "$c_to_kernel" -gt 0
note "DIMMs unplugged after the job: adaptive $((DIMMS - c_left)) of $DIMMS ($c_to_kernel blocks to the kernel zone, $c_to_movable back), ratio $((DIMMS - b_left)) of $DIMMS"
lsmem
