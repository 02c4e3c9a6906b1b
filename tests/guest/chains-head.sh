#!/bin/bash
# memmap-chains with the seed's scenario: the module puts freshly onlined
# pages at the freelist head, so each hot-added block's memmap lands on the
# block added just before it and the blocks form one long chain. The blocks
# the tracer calls pinned must be exactly those that refuse to go offline.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=online"
# mhp-timeout: 300
. /mhp/lib.sh
. /mhp/tests/chains-lib.bash

N=16
tap_check module-load mhp_load placement=head zone_policy=off
tap_check tracer-pin mc_start
ids=$(add_dimms $N) || tap_fail hot-add "dimm_add failed after: $ids"
added=$(hotadded_blocks | xargs)
tap_check blocks-added test "$(echo "$added" | wc -w)" -eq $N

mc_report head
J=$MC_DIR/head.json
tap_check json-valid mc_validate "$J"
tap_check dot-lint mc_dot_lint "$MC_DIR/head.dot"

# Chains: the first hot-added block cannot go before every block that
# transitively depends on it; the longest single path is reported too.
longest=$(jq '[.chains[0].blocks[] as $b | .blocks[] | select(.id == $b and .hotadded)] | length' "$J")
held=$(jq '[.blocks[] | select(.hotadded) | .blocked_by] | max + 1' "$J")
metric chain-longest-path "$longest"
metric chain-held-blocks "$held"
note "longest chain: $(jq -c '.chains[0].blocks' "$J")"
if [ "$held" -ge $((N * 3 / 4)) ]; then
	tap_ok chain-covers-most "$held of $N hot-added blocks hang on one root, longest path $longest"
else
	tap_fail chain-covers-most "only $held of $N hot-added blocks hang on one root"
fi
memmap_edges=$(jq '[.edges[] | select(.kind == "memmap" and .dep >= 32 and .host >= 32)] | length' "$J")
tap_check memmap-edges-between-hotadded test "$memmap_edges" -ge $((N * 3 / 4))

mc_pinned_equals_refused head $added
tap_check json-not-full test "$(jq .maps_full "$J")" = false

# Kernel memory of the pinned maps as the kernel accounts it (memlock).
for m in blocks pages stats; do
	/mhp/bpftool map show pinned /sys/fs/bpf/memmap-chains/$m
	metric "memlock-$m" "$(/mhp/bpftool -j map show pinned /sys/fs/bpf/memmap-chains/$m | jq .bytes_memlock)"
done
