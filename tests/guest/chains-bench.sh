#!/bin/bash
# Overhead benchmark of memmap-chains (not part of make check): hot-add and
# online 4 GiB (one DIMM, auto-onlined) with the tracer attached and without,
# in the same boot, in the order off/on/on/off so a drift over the run
# cancels; prints traced/untraced time as the metric overhead-ratio (the
# issue's target is at most 1.05).
# mhp-guest: --mem 1G --maxmem 18G --append "memhp_default_state=online"
# mhp-timeout: 600
. /mhp/lib.sh
. /mhp/tests/chains-lib.bash

SIZE=4G

# add_timed: microseconds from the hot-add request until every block is online.
add_timed() {
	local t0 t1 id n
	t0=${EPOCHREALTIME/./}
	id=$(dimm_add $SIZE) || return 1
	for n in $(dimm_blocks "$id"); do
		until [ "$(blk_state "$n")" = online ]; do sleep 0.01; done
	done
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0))
}

"$MC" --reset
off=0
on=0
for mode in off on on off; do
	if [ $mode = on ]; then
		"$MC" --pin --no-printk >/dev/null || { tap_fail tracer-pin "cannot attach"; exit 0; }
	fi
	us=$(add_timed) || { tap_fail hot-add "dimm_add $SIZE failed"; exit 0; }
	note "tracer $mode: $SIZE hot-add + online in $us us"
	if [ $mode = on ]; then
		"$MC" --unpin
		on=$((on + us))
	else
		off=$((off + us))
	fi
done
"$MC" --summary | head -3
ratio=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }')
metric untraced-us "$off"
metric traced-us "$on"
metric overhead-ratio "$ratio"
if awk -v r="$ratio" 'BEGIN { exit !(r <= 1.05) }'; then
	tap_ok overhead-within-5pct "ratio $ratio"
else
	tap_fail overhead-within-5pct "ratio $ratio > 1.05"
fi
