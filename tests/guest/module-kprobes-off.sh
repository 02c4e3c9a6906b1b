#!/bin/bash
# kprobes disabled globally (debugfs kprobes/enabled = 0): the module loads,
# its placement and accounting work, and it says that the zone policy does
# not apply (summary zone_probe: disarmed, a kernel log line when a block
# is onlined without it) instead of reporting zone_policy ratio and never
# deciding. Enabled again, the next block is decided and logged.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=offline"
# mhp-timeout: 240
. /mhp/lib.sh
set -u

KP=/sys/kernel/debug/kprobes/enabled
DBG=/sys/kernel/debug/mhp_online
logged() { grep -c "^[0-9]* $1 " $DBG/decisions; }
dmesg_count() { dmesg | grep -c "$1"; }
placed() { awk -v b="$1" 'NR > 1 && $1 == b { print $6 }' $DBG/blocks; }

id=$(dimm_add 512M) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
read -r -a blocks < <(dimm_blocks "$id" | xargs)

echo 0 >$KP
tap_check loads-with-kprobes-off mhp_load
tap_check summary-says-disarmed test "$(mhp_summary zone_probe)" = disarmed
tap_check load-logged klog_has 'kprobes are disabled'
blk_online "${blocks[0]}"
tap_check block-online test "$(blk_state "${blocks[0]}")" = online
tap_check not-decided test "$(logged "${blocks[0]}")" -eq 0
tap_check still-placed test "$(placed "${blocks[0]}")" = tail

echo 1 >$KP
tap_check summary-says-armed test "$(mhp_summary zone_probe)" = armed
blk_online "${blocks[1]}"
tap_check decided-again test "$(logged "${blocks[1]}")" -eq 1
tap_check enabled-logged klog_has 'kprobes are enabled again'

# Disabled while loaded: the next onlining without a decision says so.
echo 0 >$KP
said=$(dmesg_count 'kprobes are disabled')
blk_online "${blocks[2]}"
tap_check not-decided-while-off test "$(logged "${blocks[2]}")" -eq 0
tap_check onlining-logged-off test "$(dmesg_count 'kprobes are disabled')" -eq $((said + 1))
echo 1 >$KP
tap_check unload mhp_unload
