#!/bin/bash
# memmap-chains counts pages of the bulk allocator: kernel stacks are
# vmalloc'ed, and vmalloc takes its pages from alloc_pages_bulk(), which
# fires no kmem:mm_page_alloc. With placement=head the pages of the newest
# block are handed out first, so a few hundred new processes put kernel
# stacks into the block just added once boot memory's unmovable pageblocks
# run dry. The tracer must see those pages (stats.bulk_pages), count them in
# the block's kernel_bytes, and the block it calls pinned must be the one
# that refuses to go offline; when the processes are gone the count drops.
# mhp-guest: --mem 1G --maxmem 2G --append "memhp_default_state=online"
# mhp-timeout: 300
. /mhp/lib.sh
. /mhp/tests/chains-lib.bash

NPROC=400
tap_check module-load mhp_load placement=head zone_policy=off
tap_check tracer-pin mc_start
# The preferred attach mode must load on every stock kernel: a program that
# fails the verifier there makes the tool fall back to kprobes silently.
tap_check tracer-uses-fentry grep -q "tracing (fentry)" "$MC_DIR/start.log"
id=$(dimm_add 128M) || { tap_fail hot-add "dimm_add 128M failed"; exit 0; }
blk=$(dimm_blocks "$id")

# jq on a fresh report: stats and this block's record.
mc_q() {
	"$MC" --summary --json | jq "$1"
}

# spawn: NPROC idle processes, each with a fresh kernel stack.
spawn() {
	pids=()
	for ((i = 0; i < NPROC; i++)); do
		sleep 600 &
		pids+=($!)
	done
}

reap() {
	kill "${pids[@]}" 2>/dev/null
	wait 2>/dev/null
}

spawn
bulk=$(mc_q .stats.bulk_pages)
kb=$(mc_q ".blocks[] | select(.id == $blk) | .kernel_bytes")
metric bulk-pages "$bulk"
metric block-kernel-bytes "$kb"
note "$NPROC processes: $bulk bulk-allocated pages on traced blocks, block $blk holds $kb kernel bytes"
tap_check bulk-pages-seen test "$bulk" -gt 0
mc_load_stop
offliner_start
offline_refusers "$blk"
refuse=$MC_REFUSED
pinned=$(mc_q "[.blocks[] | select(.id == $blk and .pinned) | .id] | .[]")
offliner_stop
note "block $blk: offline refused: [${refuse}], tracer pinned: [${pinned}]"
tap_check block-refuses-offline test "$refuse" = "$blk"
if [ "$pinned" = "$refuse" ]; then
	tap_ok pinned-equals-unofflinable
else
	mc_json "$MC_DIR/bulk-after.json"
	mc_explain "$blk" "$MC_DIR/bulk-after.json"
	tap_fail pinned-equals-unofflinable "tracer: [$pinned] refused: [$refuse]"
fi

reap
sleep 2
kb_after=$(mc_q ".blocks[] | select(.id == $blk) | .kernel_bytes")
metric block-kernel-bytes-after-exit "$kb_after"
note "after the processes exit: block $blk holds $kb_after kernel bytes (was $kb)"
tap_check kernel-bytes-drop test "$kb_after" -lt "$kb"
mc_report bulk

# The same through the kprobe fallback (entry probe keeps the arguments).
"$MC" --unpin
tap_check tracer-pin-kprobes mc_start --kprobes
tap_check tracer-uses-kprobes grep -q "tracing (kprobe)" "$MC_DIR/start.log"
id=$(dimm_add 128M) || { tap_fail hot-add "dimm_add 128M failed"; exit 0; }
spawn
bulk=$(mc_q .stats.bulk_pages)
metric bulk-pages-kprobes "$bulk"
tap_check bulk-pages-seen-kprobes test "$bulk" -gt 0
reap
"$MC" --unpin
