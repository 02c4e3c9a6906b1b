#!/bin/bash
# memmap-chains over a hot-add/unplug cycle, with the kprobe fallback and the
# live output: edges appear while DIMMs are added and are gone once the
# DIMMs are unplugged; live lines name each added and removed range.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=online"
# mhp-timeout: 300
. /mhp/lib.sh
. /mhp/tests/chains-lib.bash

N=6
"$MC" --reset
"$MC" --kprobes --no-printk -d 600 >"$MC_DIR/live.txt" 2>&1 &
tracer=$!
for ((i = 0; i < 100; i++)); do
	grep -q "tracing memory hot-add" "$MC_DIR/live.txt" && break
	sleep 0.2
done
mapfile -t ids < <(add_dimms $N)
tap_check dimms-added test ${#ids[@]} -eq $N
added=$(hotadded_blocks | xargs)
mc_json "$MC_DIR/before.json"
tap_check json-valid mc_validate "$MC_DIR/before.json"
tap_check mode-kprobe test "$(jq -r .mode "$MC_DIR/before.json")" = stopped -o \
	"$(jq -r .mode "$MC_DIR/before.json")" = kprobe
before=$(jq '[.edges[] | select(.dep >= 32)] | length' "$MC_DIR/before.json")
metric edges-before "$before"
tap_check edges-present test "$before" -gt 0

pinned=$(mc_ids "$MC_DIR/before.json" '.hotadded and .pinned')
left=$(unplug_dimms "${ids[@]}" | xargs)
stayed=""
for id in $left; do stayed="$stayed $(dimm_blocks "$id" | xargs)"; done
stayed=$(echo $stayed | tr ' ' '\n' | sort -n | xargs)
removed=$((N - $(echo "$left" | wc -w)))
note "DIMMs that stayed: [$left] = blocks [$stayed]; tracer had pinned [$pinned]"
metric dimms-unplugged "$removed"
tap_check most-unplugged test "$removed" -ge $((N - 1))
stray=""
for n in $stayed; do
	case " $pinned " in *" $n "*) ;; *) stray="$stray $n" ;; esac
done
tap_check stayed-were-pinned test -z "$stray"
mc_json "$MC_DIR/after.json"
after=$(jq "[.edges[] | select(.dep >= 32) | select([.dep] | inside([$(echo $stayed | tr ' ' ',')]) | not)] | length" "$MC_DIR/after.json")
recs=$(jq "[.blocks[] | select(.hotadded)] | length" "$MC_DIR/after.json")
metric edges-after "$after"
tap_check edges-of-removed-gone test "$after" -eq 0
tap_check records-gone test "$recs" -eq "$(echo $stayed | wc -w)"
tap_check map-keys-left test "$(/mhp/bpftool map dump pinned /sys/fs/bpf/memmap-chains/blocks | grep -c '"key"')" -eq "$(echo $stayed | wc -w)"

kill -INT $tracer
wait $tracer
rc=$?
cat "$MC_DIR/live.txt"
tap_check live-exit-0 test $rc -eq 0
tap_check live-add-lines test "$(grep -c ' ADD ' "$MC_DIR/live.txt")" -eq $N
tap_check live-remove-lines test "$(grep -c ' REMOVE ' "$MC_DIR/live.txt")" -eq "$removed"
tap_check live-kprobe-mode grep -q "tracing memory hot-add (kprobe" "$MC_DIR/live.txt"
tap_check live-summary grep -q "^chains (longest first" "$MC_DIR/live.txt"
save_file live.txt "$MC_DIR/live.txt"
