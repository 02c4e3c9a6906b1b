#!/bin/bash
# Zone policy parameters at run time: a new ratio takes effect for the next
# block (301 -> Movable, 0 -> Normal, 301 again -> Movable), and so does
# kernel_reserve_mb (the whole boot memory -> Normal, 0 -> Movable); bad values are
# refused with an error, a message in the kernel log, and the old value
# stays; insmod with a bad value fails. The decision log names the reason.
# mhp-guest: --mem 512M --maxmem 2G --append "memhp_default_state=offline"
# mhp-timeout: 180
. /mhp/lib.sh

MP=/sys/module/mhp_online/parameters
LOG=/sys/kernel/debug/mhp_online/decisions

# refused PARAM VALUE: the write fails, the value stays, the log says why.
refused() {
	local p=$1 v=$2 old lines
	old=$(cat "$MP/$p")
	lines=$(dmesg | wc -l)
	if echo "$v" >"$MP/$p" 2>/dev/null; then
		echo "$p=$v accepted" >&2
		return 1
	fi
	[ "$(cat "$MP/$p")" = "$old" ] || { echo "$p changed to $(cat "$MP/$p")" >&2; return 1; }
	dmesg | tail -n +$((lines + 1)) | grep -q . || { echo "$p=$v: no kernel message" >&2; return 1; }
}

# one_dimm_zone: hot-add a 128 MiB DIMM, online it "online", print its zone.
one_dimm_zone() {
	local id n
	id=$(dimm_add 128M) || return 1
	n=$(dimm_blocks "$id")
	blk_online "$n" online || return 1
	blk_zone "$n"
}

if insmod /mhp/mhp_online.ko ratio=100001 2>/dev/null; then
	tap_fail insmod-bad-ratio-refused "insmod ratio=100001 succeeded"
	mhp_unload
else
	tap_ok insmod-bad-ratio-refused
fi
mhp_load zone_policy=ratio granule_mb=128 ratio=301 || { tap_fail load-module "insmod failed"; exit 0; }

tap_check ratio-default-301 test "$(cat $MP/ratio)" = 301
tap_check ratio-100001-refused refused ratio 100001
tap_check ratio-garbage-refused refused ratio abc
tap_check granule-384-refused refused granule_mb 384
tap_check granule-64-refused refused granule_mb 64
tap_check granule-0-refused refused granule_mb 0
tap_check granule-32768-refused refused granule_mb 32768
tap_check zone-policy-garbage-refused refused zone_policy sideways

z1=$(one_dimm_zone)
echo 0 >$MP/ratio
z2=$(one_dimm_zone)
echo 301 >$MP/ratio
z3=$(one_dimm_zone)
note "zones of three 128 MiB DIMMs at ratio 301, 0, 301: $z1 $z2 $z3"
tap_check ratio-301-movable test "$z1" = Movable
tap_check ratio-0-next-block-normal test "$z2" = Normal
tap_check ratio-301-again-movable test "$z3" = Movable

# A reserve as large as the boot memory leaves no early kernel memory to
# count: the next DIMM goes Normal; back to 0, the next one Movable again.
echo 512 >$MP/kernel_reserve_mb
z4=$(one_dimm_zone)
echo 0 >$MP/kernel_reserve_mb
z5=$(one_dimm_zone)
note "zones of two 128 MiB DIMMs at kernel_reserve_mb 512, 0: $z4 $z5"
tap_check reserve-512-normal test "$z4" = Normal
tap_check reserve-0-movable test "$z5" = Movable

echo 1024 >$MP/granule_mb
tap_check granule-1024-accepted test "$(cat $MP/granule_mb)" = 1024

if [ -r "$LOG" ]; then
	cat "$LOG"
	tap_check decision-log-names-ratio-zero grep -q "ratio is 0: never movable" "$LOG"
	tap_check decision-log-names-fits grep -q "fits the ratio" "$LOG"
else
	tap_skip decision-log "no $LOG"
fi
