#!/bin/bash
# memmap-chains with memory_hotplug.memmap_on_memory=1: every hot-added
# block carries its own memmap, so the tracer must show no memmap edge
# between blocks and mark each block memmap_on_memory.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=online memory_hotplug.memmap_on_memory=1"
# mhp-timeout: 300
. /mhp/lib.sh
. /mhp/tests/chains-lib.bash

N=16
tap_check param-on grep -qx Y /sys/module/memory_hotplug/parameters/memmap_on_memory
tap_check tracer-pin mc_start
ids=$(add_dimms $N) || tap_fail hot-add "dimm_add failed after: $ids"
tap_check blocks-added test "$(hotadded_blocks | wc -l)" -eq $N

mc_report mom
J=$MC_DIR/mom.json
tap_check json-valid mc_validate "$J"
tap_check dot-lint mc_dot_lint "$MC_DIR/mom.dot"
mom=$(jq '[.blocks[] | select(.hotadded and .memmap_on_memory and .altmap_bytes > 0)] | length' "$J")
metric memmap-on-memory-blocks "$mom"
tap_check all-blocks-self-hosted test "$mom" -eq $N
edges=$(jq '[.edges[] | select(.kind == "memmap")] | length' "$J")
metric memmap-edges "$edges"
tap_check no-memmap-edges test "$edges" -eq 0
note "other edges left: $(jq -c '[.edges[] | "\(.host)->\(.dep) \(.kind) \(.bytes)"]' "$J")"
