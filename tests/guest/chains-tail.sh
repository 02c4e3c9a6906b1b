#!/bin/bash
# memmap-chains with the module's tail placement: freshly onlined pages are
# handed out last, so no hot-added block hosts another's memmap, except the
# first one: boot memory (1 GiB) has no ZONE_NORMAL, so the first hot-added
# block is the only Normal memory when the second is added and keeps hosting
# later memmaps. The tracer must name exactly that block, say why, and agree
# with which blocks really refuse to go offline.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=online"
# mhp-timeout: 300
. /mhp/lib.sh
. /mhp/tests/chains-lib.bash

N=16
tap_check module-load mhp_load placement=tail zone_policy=off
tap_check tracer-pin mc_start
ids=$(add_dimms $N) || tap_fail hot-add "dimm_add failed after: $ids"
added=$(hotadded_blocks | xargs)
first=${added%% *}
tap_check blocks-added test "$(echo "$added" | wc -w)" -eq $N

mc_report tail
J=$MC_DIR/tail.json
tap_check json-valid mc_validate "$J"
tap_check dot-lint mc_dot_lint "$MC_DIR/tail.dot"

hosts=$(jq -r '[.edges[] | select(.kind == "memmap" and .host != .dep) | .host] | unique
	| map(select(. >= '"$first"')) | .[]' "$J" | xargs)
note "hot-added blocks hosting a memmap: [$hosts] (first hot-added block $first)"
metric memmap-hosting-hotadded "$(echo "$hosts" | wc -w)"
if [ -z "$hosts" ] || [ "$hosts" = "$first" ]; then
	tap_ok only-first-hosts-memmap "hosts: [${hosts:-none}]"
else
	tap_fail only-first-hosts-memmap "hot-added memmap hosts: [$hosts], expected at most $first"
fi
why=$(jq -r ".blocks[] | select(.id == $first) | .why" "$J")
zone=$(jq -r ".blocks[] | select(.id == $first) | .zone" "$J")
note "tracer: block $first ($zone) why=$why"
if [ -z "$hosts" ] || [ "$why" = first-in-zone ]; then
	tap_ok first-block-why "block $first: $why"
else
	tap_fail first-block-why "block $first hosts memmaps, tracer says why=$why"
fi

mc_pinned_equals_refused tail $added
