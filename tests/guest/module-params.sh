#!/bin/bash
# Module parameters: every one is documented (MODULE_PARM_DESC), bad values
# are refused with a clear kernel-log message and the old value stays,
# good values are taken at run time; a bad value at insmod fails the load.
# mhp-guest: --mem 1G --maxmem 2G --append "memhp_default_state=offline"
# mhp-timeout: 120
. /mhp/lib.sh

P=/sys/module/mhp_online/parameters

# Bad values at load time: insmod fails, nothing stays loaded.
for bad in placement=sideways granule_mb=100 ratio=100001; do
	if mhp_load "$bad" 2>/dev/null; then
		tap_fail "insmod-refuses-$bad" "loaded"
		mhp_unload
	else
		tap_check "insmod-refuses-$bad" test ! -d /sys/module/mhp_online
	fi
done

# Good values first, a bad one last: the load fails and leaves nothing
# behind (the config is static, no RCU callback outlives the module).
if mhp_load placement=head ratio=0 numa_aware=0 granule_mb=100 2>/dev/null; then
	tap_fail insmod-refuses-late-bad-param "loaded"
	mhp_unload
else
	sleep 1	# a grace period or two: a stray RCU callback would fire now
	tap_check insmod-refuses-late-bad-param test ! -d /sys/module/mhp_online
fi

mhp_load || { tap_fail load "insmod failed"; exit 0; }

# Every parameter in sysfs has a description in the module's .modinfo.
descs=$(tr '\0' '\n' </mhp/mhp_online.ko | sed -n 's/^parm=\([a-z_]*\):.*/\1/p' | sort)
params=$(for f in "$P"/*; do echo "${f##*/}"; done | sort)
note "parameters: $(echo "$params" | xargs)"
tap_check parm-desc-for-every-param test "$descs" = "$params"

tap_check default-placement test "$(cat $P/placement)" = tail
tap_check default-ratio test "$(cat $P/ratio)" = 301
tap_check default-numa-aware test "$(cat $P/numa_aware)" = Y
tap_check default-kernel-reserve test "$(cat $P/kernel_reserve_mb)" = 0
tap_check default-granule test "$(cat $P/granule_mb)" = 1024
tap_check default-zone-policy test "$(cat $P/zone_policy)" = ratio
tap_check default-fresh-reported test "$(cat $P/fresh_reported)" = Y

# refuse NAME VALUE: the write fails, the value stays, the log says why.
refuse() {
	local name=$1 val=$2 old
	old=$(cat "$P/$name")
	dmesg -c >/dev/null
	if echo "$val" >"$P/$name" 2>/dev/null; then
		tap_fail "refuse-$name=$val" "accepted; now $(cat "$P/$name")"
	elif [ "$(cat "$P/$name")" != "$old" ]; then
		tap_fail "refuse-$name=$val" "value changed to $(cat "$P/$name")"
	elif ! dmesg | grep -q "mhp_online: $name=$val refused: "; then
		tap_fail "refuse-$name=$val" "no kernel-log message"
	else
		tap_ok "refuse-$name=$val" "$(dmesg | sed -n 's/.*refused: //p')"
	fi
}
# accept NAME VALUE [SHOWN]
accept() {
	if echo "$2" >"$P/$1" && [ "$(cat "$P/$1")" = "${3:-$2}" ]; then
		tap_ok "accept-$1=$2"
	else
		tap_fail "accept-$1=$2" "now $(cat "$P/$1")"
	fi
}

refuse placement sideways
refuse placement ""
refuse zone_policy maybe
refuse ratio 100001
refuse ratio -1
refuse ratio abc
refuse numa_aware maybe
refuse fresh_reported sometimes
refuse kernel_reserve_mb lots
refuse granule_mb 0
refuse granule_mb 100
refuse granule_mb 384
refuse granule_mb 32768

accept placement head
accept zone_policy off
accept ratio 0
accept ratio 100000
accept numa_aware 0 N
accept fresh_reported 0 N
accept kernel_reserve_mb 512
accept granule_mb 128
accept granule_mb 16384
# After all the refusals, the accepted values are the ones in force.
tap_check summary-follows grep -q "^granule_pages: $((16384 * 256))$" /sys/kernel/debug/mhp_online/summary
tap_check summary-fresh-reported grep -q "^fresh_reported: 0$" /sys/kernel/debug/mhp_online/summary
tap_check unload mhp_unload
