#!/bin/bash
# Zone policy basics through the kprobe on zone_for_pfn_range():
#  - zone_policy=off: plain "online" gets the stock kernel's zone;
#  - reading valid_zones shows the policy's choice and logs nothing (the
#    probe is free of side effects, only real onlinings are logged);
#  - a ratio change takes effect for the next block (301: MOVABLE fits;
#    10 and 0: KERNEL), with the reason in the decisions log;
#  - explicit online_kernel / online_movable stay as asked.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=offline"
# mhp-timeout: 240
. /mhp/lib.sh

DBG=/sys/kernel/debug/mhp_online
P=/sys/module/mhp_online/parameters
ndecisions() { grep -vc '^#' $DBG/decisions; }
# last_decision FIELD: a column of the newest decision (1-based, see header).
last_decision() { grep -v '^#' $DBG/decisions | tail -1 | cut -d' ' -f"$1"; }
last_reason() { grep -v '^#' $DBG/decisions | tail -1 | cut -d' ' -f14-; }
valid_default() { local z; z=$(cat "$MHP_SYS_MEM/memory$1/valid_zones"); echo "${z%% *}"; }
new_block() { local id; id=$(dimm_add 128M) || return 1; dimm_blocks "$id"; }

# online_expect NAME RATIO TYPE ZONE [REASON]: next block, onlined as TYPE
# with ratio RATIO, must land in ZONE and log REASON.
online_expect() {
	local name=$1 ratio=$2 type=$3 zone=$4 reason=${5:-} b n0
	echo "$ratio" >$P/ratio
	b=$(new_block) || { tap_fail "$name" "hot-add failed"; return; }
	n0=$(ndecisions)
	blk_online "$b" "$type" || { tap_fail "$name" "online $type failed"; return; }
	if [ "$(blk_zone "$b")" != "$zone" ]; then
		tap_fail "$name" "block $b in $(blk_zone "$b"), want $zone"
	elif [ "$(ndecisions)" -ne $((n0 + 1)) ] || [ "$(last_decision 2)" != "$b" ] ||
	     [ "$(last_decision 7)" != "$type" ]; then
		tap_fail "$name" "decision log: $(grep -v '^#' $DBG/decisions | tail -1)"
	elif [ -n "$reason" ] && [ "$(last_reason)" != "$reason" ]; then
		tap_fail "$name" "reason '$(last_reason)', want '$reason'"
	else
		tap_ok "$name" "block $b $zone: $(last_reason)"
	fi
}

a=$(new_block) || { tap_fail setup "hot-add failed"; exit 0; }
stock=$(valid_default "$a")
mhp_load zone_policy=off || { tap_fail load "insmod failed"; exit 0; }
tap_check policy-off-is-stock test "$(valid_default "$a")" = "$stock"
echo ratio >$P/zone_policy
tap_check valid-zones-shows-choice test "$(valid_default "$a")" = Movable
for _ in 1 2 3; do cat "$MHP_SYS_MEM/memory$a/valid_zones" >/dev/null; done
tap_check valid-zones-logs-nothing test "$(ndecisions)" -eq 0
# Each read asks for online, online_kernel and online_movable: 3 calls.
sysfs_reads=$(awk '$1 == "probe_sysfs_reads:" { print $2 }' $DBG/summary)
tap_check probe-tells-sysfs-reads test "$sysfs_reads" -ge 9
blk_online "$a"
tap_check online-logs-one test "$(ndecisions)" -eq 1 -a "$(blk_zone "$a")" = Movable

online_expect ratio-301-movable 301 online Movable "fits the ratio"
online_expect ratio-10-kernel 10 online Normal "movable would exceed the ratio"
online_expect ratio-0-kernel 0 online Normal "ratio is 0: never movable"
online_expect ratio-back-movable 301 online Movable "fits the ratio"
online_expect explicit-kernel-untouched 301 online_kernel Normal "explicit online type: left as asked"
online_expect explicit-movable-untouched 0 online_movable Movable "explicit online type: left as asked"
echo off >$P/zone_policy
online_expect policy-off-stock-zone 301 online "$stock" "zone policy off: the kernel chose"
cat $DBG/decisions
grep probe $DBG/summary
tap_check unload mhp_unload
