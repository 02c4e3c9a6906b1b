#!/bin/bash
# The demo's guest side: hot-add DIMMs one block at a time with
# auto-onlining, then unplug as much as possible, and show which blocks stay.
# MODE (environment): stock (no module); head / tail (mhp_online with that
# placement and its zone policy off, so only placement differs from stock);
# ratio (mhp_online, tail placement and its MOVABLE:KERNEL zone policy).
# COUNT: DIMMs of 128 MiB to add (default 16).
. /mhp/lib.sh
mode=${MODE:-stock}
count=${COUNT:-16}

echo "=== $mode: $(uname -r), boot memory $(($(grep MemTotal /proc/meminfo | awk '{print $2}') / 1024)) MiB usable"
case "$mode" in
stock) ;;
head | tail | ratio)
	[ -f /mhp/mhp_online.ko ] || { tap_skip "$mode" "mhp_online.ko not built"; exit 0; }
	if [ "$mode" = ratio ]; then
		params="placement=tail zone_policy=ratio"
	else
		params="placement=$mode zone_policy=off"
	fi
	echo "insmod mhp_online.ko $params"
	mhp_load $params || { tap_fail "$mode-load" "insmod failed"; exit 0; }
	;;
*) tap_fail mode "unknown MODE=$mode"; exit 0 ;;
esac

ids=()
for ((i = 0; i < count; i++)); do
	ids+=("$(dimm_add 128M)") || { tap_fail add "DIMM $i not added"; exit 0; }
done
blocks=$(hotadded_blocks | xargs)
online=0
for n in $blocks; do [ "$(blk_state "$n")" = online ] && online=$((online + 1)); done
echo "hot-added $count DIMMs of 128 MiB one at a time, auto-onlined: $online blocks online"
blk_map $blocks
[ "$mode" = stock ] || grep -E '^(placement|zone_policy|blocks_onlined|pages_(head|tail))' \
	/sys/kernel/debug/mhp_online/summary

# What a single offline pass finds, lowest block first, as a user would try.
stuck_now=()
for n in $blocks; do blk_offline "$n" || stuck_now+=("$n"); done
echo "offline once, lowest first: ${#stuck_now[@]} of $(echo $blocks | wc -w) blocks refused (${stuck_now[*]:-none})"

echo "unplugging as much as possible (offline + device_del, repeated while it helps)"
mapfile -t stuck < <(unplug_dimms "${ids[@]}")
echo "stayed: ${#stuck[@]} of $count DIMMs (${stuck[*]:-none})"
left=$(hotadded_blocks | xargs)
[ -n "$left" ] && blk_map $left
lsmem
metric "$mode-added" "$count"
metric "$mode-stuck" "${#stuck[@]}"
metric "$mode-refused-once" "${#stuck_now[@]}"
tap_ok "$mode" "$((count - ${#stuck[@]})) of $count DIMMs removed again"
