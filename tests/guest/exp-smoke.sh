#!/bin/bash
# Smoke test of the experiment's guest side (tests/guest/experiment/): a tiny
# scenario 1 (4 one-block DIMMs hot-added one at a time, then unplugged) with
# the stock kernel, then with mhp_online placement=tail, checking that the
# numbers the experiment reports are sane and consistent with sysfs: as many
# blocks added as asked, all online, the block map lists them, what is left
# after the unplug is present in sysfs and no more than was added, and the
# tracer's report (when built) names the hot-added blocks.
# mhp-guest: --mem 1G --maxmem 2G --slots 8 --append "memhp_default_state=online"
# mhp-timeout: 200
. /mhp/lib.sh
. /mhp/tests/experiment/lib.sh

COUNT=4
# round MODE: one small scenario-1 round in this guest; checks its numbers.
round() {
	local mode=$1 n blocks left id
	EXP_DIMMS=()
	if ! exp_grow dimm $((COUNT * 128)) 128 >/tmp/grow.err; then
		tap_fail "$mode-grow" "$(cat /tmp/grow.err)"
		return
	fi
	tap_check "$mode-grow-seconds-positive" awk -v s="$EXP_GROW_S" 'BEGIN { exit !(s > 0) }'
	tap_check "$mode-dimms-added" test "${#EXP_DIMMS[@]}" -eq $COUNT
	exp_blockmap /tmp/added.txt "$(for id in "${EXP_DIMMS[@]}"; do dimm_blocks "$id"; done)"
	blocks=$(awk '$3 == "online"' /tmp/added.txt | wc -l)
	tap_check "$mode-blockmap-all-online" test "$blocks" -eq $COUNT
	tap_check "$mode-blockmap-zones-counted" test \
		$(($(exp_zone_blocks /tmp/added.txt Normal) + $(exp_zone_blocks /tmp/added.txt Movable))) -eq $COUNT
	exp_shrink dimm 128
	exp_blockmap /tmp/left.txt "$(awk '{ print $1 }' /tmp/added.txt)"
	left=$(wc -l </tmp/left.txt)
	tap_check "$mode-left-consistent" test $((left * 128)) -eq "$EXP_LEFT_MIB"
	tap_check "$mode-left-at-most-added" test "$left" -le $COUNT
	for n in $(awk '{ print $1 }' /tmp/left.txt); do
		[ -e "$MHP_SYS_MEM/memory$n" ] || { tap_fail "$mode-left-present" "block $n listed but gone"; return; }
	done
	note "$mode: $COUNT blocks added in $EXP_GROW_S s, $left stay"
	metric "$mode-left" "$left"
}

round stock
if [ -f /mhp/mhp_online.ko ]; then
	if why=$(exp_setup stock tail); then
		round tail
		tap_check module-placement-tail test "$(cat $EXP_PARAMS/placement)" = tail
		mhp_unload
	else
		tap_fail module-setup "$why"
	fi
else
	tap_skip tail "mhp_online.ko not built"
fi

if [ -x /mhp/memmap-chains ]; then
	if why=$(exp_trace_start); then
		EXP_DIMMS=()
		exp_grow dimm 256 128 >/tmp/grow.err || tap_fail trace-grow "$(cat /tmp/grow.err)"
		/mhp/memmap-chains --summary --json >/tmp/c.json 2>/dev/null
		want=$(for id in "${EXP_DIMMS[@]}"; do dimm_blocks "$id"; done | sort -n | xargs)
		got=$(jq -r '[.blocks[] | select(.hotadded and .state == "online") | .id] | sort | map(tostring) | join(" ")' /tmp/c.json)
		tap_check tracer-names-hotadded-blocks test "$got" = "$want"
		exp_trace_stop
	else
		tap_fail tracer-start "$why"
	fi
else
	tap_skip tracer "memmap-chains not built"
fi
