#!/bin/bash
# The trace log users read through "bpftool prog tracelog": every documented
# line kind (add, alloc, added, remove, removed, drop; "Trace log" in
# docs/memmap-chains.md) must appear for the events that happened, with the
# blocks, sizes and hosts the tracer's own report gives, and --no-printk must
# silence them all.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=online"
# mhp-timeout: 300
. /mhp/lib.sh
. /mhp/tests/chains-lib.bash

LOG=$MC_DIR/tracelog.txt

# tracelog_start / tracelog_stop: collect the tracer's trace lines meanwhile.
tracelog_start() {
	: >"$LOG.raw"
	/mhp/bpftool prog tracelog >"$LOG.raw" 2>/dev/null &
	TRACELOG_PID=$!
	sleep 1
}

tracelog_stop() {
	sleep 2
	kill "$TRACELOG_PID" 2>/dev/null
	wait "$TRACELOG_PID" 2>/dev/null
	grep -o 'memmap-chains: .*' "$LOG.raw" >"$LOG" || true
	note "trace lines: $(wc -l <"$LOG") ($(cut -d' ' -f2 "$LOG" | sort | uniq -c | xargs))"
}

# lines KIND: the trace lines of one kind, without the prefix and kind.
lines() {
	sed -n "s/^memmap-chains: $1 //p" "$LOG"
}

hex() {
	printf '0x%x' "$1"
}

bs=$(blk_bytes)

# 1. Two DIMMs of one block each, then the second one removed again.
tap_check tracer-pin mc_start
tracelog_start
id1=$(dimm_add "$bs") && id2=$(dimm_add "$bs") || tap_fail hot-add "dimm_add failed"
b1=$(dimm_blocks "$id1")
b2=$(dimm_blocks "$id2")
mc_json "$MC_DIR/added.json"
tap_check unplug-second dimm_try_unplug "$id2"
tracelog_stop
save_file tracelog.txt "$LOG" || true

want_add="start=$(hex $((b1 * bs))) size=$(hex "$bs") nid=0 altmap=0
start=$(hex $((b2 * bs))) size=$(hex "$bs") nid=0 altmap=0"
tap_check add-lines test "$(lines add)" = "$want_add"
tap_check added-lines test "$(lines added)" = "blocks=$b1-$b1 ret=0 memmap_on_memory=0
blocks=$b2-$b2 ret=0 memmap_on_memory=0"
tap_check remove-line test "$(lines remove)" = "start=$(hex $((b2 * bs))) size=$(hex "$bs")"
tap_check removed-line test "$(lines removed)" = "blocks=$b2-$b2"

# Each alloc line is one attributed allocation. The memmap is never freed,
# so per (dep, host) its lines add up to the report's memmap edge exactly;
# every edge of the report has lines (other pages may be freed since).
sum_lines() {
	lines alloc | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		b = 4096
		for (j = 0; j < f["order"]; j++) b *= 2
		sum[f["dep"] " " f["host"] " " f["kind"]] += b
	} END { for (k in sum) printf "%s %d\n", k, sum[k] }' | sort
}
from_lines=$(sum_lines)
from_report=$(jq -r '.edges[] | "\(.dep) \(.host) \(.kind) \(.bytes)"' "$MC_DIR/added.json" | sort)
note "alloc lines (dep host kind bytes): $(echo "$from_lines" | xargs)"
note "report edges (dep host kind bytes): $(echo "$from_report" | xargs)"
tap_check alloc-memmap-lines-equal-edges test \
	"$(grep ' memmap ' <<<"$from_lines")" = "$(grep ' memmap ' <<<"$from_report")"
tap_check alloc-memmap-for-each-block test \
	"$(grep ' memmap ' <<<"$from_lines" | cut -d' ' -f1 | sort -u | xargs)" = "$b1 $b2"
missing=$(comm -13 <(cut -d' ' -f1-3 <<<"$from_lines" | sort -u) \
	<(cut -d' ' -f1-3 <<<"$from_report" | sort -u) | xargs)
tap_check alloc-lines-for-every-edge test -z "$missing"

# 2. drop: a blocks map with room for one record, a DIMM of two blocks.
tap_check tracer-pin-one-block mc_start --max-blocks 1
tracelog_start
id3=$(dimm_add $((2 * bs))) || tap_fail hot-add-two-blocks "dimm_add failed"
tracelog_stop
note "drop lines: $(lines drop | sort | uniq -c | xargs)"
tap_check drop-line-names-full-map grep -qE '^block=[0-9]+ reason=blocks-map-full$' <(lines drop)

# 3. --no-printk: the same events, no line.
tap_check tracer-pin-no-printk mc_start --no-printk
tracelog_start
id4=$(dimm_add "$bs") || tap_fail hot-add-quiet "dimm_add failed"
tracelog_stop
tap_check no-printk-silent test "$(wc -l <"$LOG")" = 0
tap_check no-printk-still-traces test "$("$MC" --summary --json | jq '.stats.adds')" = 1
