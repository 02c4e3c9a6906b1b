#!/bin/bash
# Stress with the module loaded and unloaded: for STRESS_SECONDS (60 here;
# tests/guest/long/module-stress.sh runs 30 minutes), all at once:
#  - stress-ng --memhotplug (offlines and onlines every memory block at
#    random) and a vm stressor (allocates, touches and frees memory);
#  - readers of every block's valid_zones, lsmem, and the module's debugfs
#    files;
#  - parameter writes: placement, zone_policy (ratio, adaptive, off),
#    ratio, granule_mb, kernel_headroom_mb, and two values per round that
#    must be refused;
#  - rmmod and insmod every few seconds.
# Then: nothing failed that must not, and the present and managed pages of
# all zones together and MemTotal moved by exactly the memory blocks that
# went online or offline (head placement's kept chunks, a conversion of
# the adaptive policy left half-done: any page lost or counted twice
# shows). Per zone they may differ: stress-ng offlines boot blocks too,
# and the zone policies decide again at each onlining.
# The runner fails the run on any WARNING, oops or hang. An offlining that
# retries for STUCK_SECONDS is ended with a signal to its writer and
# reported: on 6.12 a slab page can pass for movable and make the kernel
# retry it for good (docs/module.md, "Unloading"), and the loader's rmmod
# waits behind it (restore_online_page_callback() takes the memory
# hotplug lock) until the hung-task report, which would fail the run for
# the kernel's bug.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=offline"
# mhp-timeout: 420
. /mhp/lib.sh
set -u

STRESS_SECONDS=${STRESS_SECONDS:-60}
STUCK_SECONDS=60
MP=/sys/module/mhp_online/parameters
DBG=/sys/kernel/debug/mhp_online
memtotal() { awk '/MemTotal/ { print $2 }' /proc/meminfo; }
running() { [ ! -e /tmp/stop ]; }
# param NAME VALUE: write a module parameter; quiet, the module may be gone.
param() { echo "$2" >"$MP/$1"; } 2>/dev/null

ids=()
for _ in 1 2; do
	id=$(dimm_add 512M) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
	ids+=("$id")
done
hot=$(for id in "${ids[@]}"; do dimm_blocks "$id"; done | xargs)
# totals: present and managed pages of all zones together.
totals() { zone_counts | awk '{ p += $3; m += $4 } END { print p, m }'; }
base=$(totals)
mem0=$(memtotal)
online_blocks() { cat "$MHP_SYS_MEM"/memory*/state | grep -c '^online$'; }
blocks0=$(online_blocks)

mhp_load || { tap_fail load "insmod failed"; exit 0; }
for n in $hot; do blk_online "$n"; done

# readers: every valid_zones, lsmem, the debugfs files.
readers() {
	local i=0
	while running; do
		cat "$MHP_SYS_MEM"/memory*/valid_zones >/dev/null 2>&1
		lsmem >/dev/null 2>&1
		cat $DBG/blocks $DBG/decisions $DBG/summary >/dev/null 2>&1
		i=$((i + 1))
	done
	echo $i >/tmp/reads
}

# writer: parameters while the module may come and go; two refused values
# per round must be refused.
writer() {
	local i=0 bad=0
	local -a pl=(tail head) zp=(ratio adaptive off) ra=(0 100 301 1000) gr=(128 256 1024)
	while running; do
		param placement "${pl[RANDOM % 2]}"
		param zone_policy "${zp[RANDOM % 3]}"
		param ratio "${ra[RANDOM % 4]}"
		param granule_mb "${gr[RANDOM % 3]}"
		param kernel_headroom_mb "$((16 + RANDOM % 64))"
		# Refused values: the module says no (policy-params checks that
		# the old value stays).
		param ratio "100001" && bad=$((bad + 1))
		param zone_policy "sideways" && bad=$((bad + 1))
		i=$((i + 1))
		sleep 0.2
	done
	echo "$i $bad" >/tmp/writes
}

# stuck_watch: every second, which processes have a block's state file
# open (a write of "offline" runs offline_pages(), which retries while the
# task keeps running: its kernel stack cannot be read then). One that has
# kept the same file open for STUCK_SECONDS gets SIGALRM (stress-ng's own
# "time is up"): the offlining ends with EINTR and the block stays online.
# Writes "offlinings-ended note" to /tmp/stuck.
stuck_watch() {
	local -A since=() seen
	local ended=0 why="" key f t proc
	while running; do
		t=$SECONDS
		seen=()
		for f in /proc/[0-9]*/fd/*; do
			key=$(readlink "$f" 2>/dev/null) || continue
			[[ $key == "$MHP_SYS_MEM"/memory*/state ]] || continue
			proc=${f%%/fd/*}
			key="$proc:$key"
			seen[$key]=1
			since[$key]=${since[$key]:-$t}
			[ $((t - since[$key])) -ge "$STUCK_SECONDS" ] || continue
			why+="${key#/proc/} ($(cat "$proc/comm" 2>/dev/null)) open for $STUCK_SECONDS s, $(dmesg | grep -E 'page dumped|page_type|failed to isolate|migrating pfn' | tail -2 | tr -s ' \n' ' '); "
			kill -ALRM "${proc#/proc/}" 2>/dev/null
			ended=$((ended + 1))
			unset "since[$key]"
		done
		for key in "${!since[@]}"; do
			[ -n "${seen[$key]:-}" ] || unset "since[$key]"
		done
		sleep 1
	done
	echo "$ended ${why:-none}" >/tmp/stuck
}

# unload: rmmod, again while a reader holds a debugfs file open (rmmod
# refuses a module in use; it is not stuck).
unload() {
	local t
	for ((t = 0; t < 20; t++)); do
		mhp_unload 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# loader: rmmod and insmod every few seconds.
loader() {
	local loads=0 fails=0
	while running; do
		sleep $((2 + RANDOM % 4))
		unload || fails=$((fails + 1))
		sleep "0.$((RANDOM % 10))"
		if mhp_load; then loads=$((loads + 1)); else fails=$((fails + 1)); fi
	done
	echo "$loads $fails" >/tmp/loads
}

rm -f /tmp/stop
readers &
r=$!
writer &
w=$!
loader &
l=$!
stuck_watch &
sw=$!
stress-ng --memhotplug 1 --vm 1 --vm-bytes 96M --timeout "${STRESS_SECONDS}s" \
	--metrics-brief >/tmp/stress.out 2>&1
src=$?
touch /tmp/stop
wait $r $w $l $sw
cat /tmp/stress.out
read -r reads </tmp/reads
read -r writes bad </tmp/writes
read -r loads loadfails </tmp/loads
read -r stuck stuck_why </tmp/stuck
[ "$stuck" -eq 0 ] || note "offlinings retried for ${STUCK_SECONDS} s and ended: $stuck_why"
metric stress-offlinings-ended "$stuck"
ops=$(awk '$0 ~ /memhotplug/ && $0 ~ /stress-ng: (info|metrc)/ && $5 ~ /^[0-9]+$/ { print $5; exit }' /tmp/stress.out)
note "${STRESS_SECONDS} s: stress-ng rc $src, memhotplug bogo ops ${ops:-?}, $reads read rounds, $writes write rounds, $loads reloads"
metric stress-seconds "$STRESS_SECONDS"
metric stress-reloads "$loads"
metric stress-read-rounds "$reads"
tap_check stress-ng-ok test "$src" -eq 0
tap_check refused-values-kept test "$bad" -eq 0
tap_check reloads-ok test "$loadfails" -eq 0 -a "$loads" -ge 1
tap_check module-loaded test -d /sys/module/mhp_online

# No page lost or counted twice: the present and managed pages of all zones
# and MemTotal moved by exactly the blocks that are online now and were not
# at the start (or the other way round). Which blocks those are is up to
# stress-ng and the zone policies: a block onlined to ZONE_NORMAL while
# the policy was off or ratio may now hold unmovable pages.
tap_check unload mhp_unload
now=$(totals)
blocks=$(($(online_blocks) - blocks0))
bp=$(($(blk_bytes) / 4096))
note "present/managed pages of all zones: $base at the start, $now now; online blocks $blocks0 -> $((blocks0 + blocks))"
zone_counts
read -r p0 m0 <<<"$base"
read -r p1 m1 <<<"$now"
tap_check present-moved-by-blocks test $((p1 - p0)) -eq $((blocks * bp))
tap_check managed-moved-by-blocks test $((m1 - m0)) -eq $((blocks * bp))
tap_check memtotal-moved-by-blocks test $(($(memtotal) - mem0)) -eq $((blocks * bp * 4))
tap_check reload-after mhp_load
