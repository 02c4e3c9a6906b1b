#!/bin/bash
# Scenario 1 (seed 000, example a): idle add + online, then unplug as much as
# possible. Hot-adds TOTAL_MIB in UNIT_MIB units one at a time with
# auto-onlining (memhp_default_state=online on the command line), as DIMMs
# of one unit or by stepping virtio-mem device vm0, with the memmap-chains
# tracer recording who hosts whose memmap; then unplugs (DIMMs: offline +
# device_del, repeated while it helps; virtio-mem: requested-size 0) and
# counts the hot-added blocks that stay.
# Environment: KIND dimm|vmem, TOTAL_MIB (8192), UNIT_MIB (128), POLICY,
# PLACEMENT, TRACE (see lib.sh).
. /mhp/lib.sh
. /mhp/tests/experiment/lib.sh
KIND=${KIND:-dimm}
TOTAL_MIB=${TOTAL_MIB:-8192}
UNIT_MIB=${UNIT_MIB:-128}
exp_begin idle

traced=0
if [ "${TRACE:-1}" = 1 ]; then
	if why=$(exp_trace_start); then
		traced=1
	else
		tap_skip idle-trace "not run: $why"
	fi
fi
exp_grow_added idle || exit 0
blocks=$(wc -l </tmp/added.txt)
[ $traced = 1 ] && exp_trace_save added
exp_module_save added

exp_shrink "$KIND" "$UNIT_MIB"
exp_conversions_metrics
exp_blockmap /tmp/left.txt
left=$(wc -l </tmp/left.txt)
save_file left.txt /tmp/left.txt
[ $traced = 1 ] && exp_trace_save left
metric left-blocks "$left"
metric left-plugged-mib "$EXP_LEFT_MIB"
metric removed-blocks $((blocks - left))
metric shrink-seconds "$EXP_SHRINK_S"
note "idle $KIND $POLICY/$PLACEMENT: $blocks blocks added in $EXP_GROW_S s, $left stay after unplug ($EXP_LEFT_MIB MiB still plugged)"
[ "$left" -gt 0 ] && blk_map $(awk '{ print $1 }' /tmp/left.txt) | head -80
exp_trace_stop
tap_ok idle "$((blocks - left)) of $blocks blocks removed"
