# shellcheck shell=bash
# Shared by the guest tests of zone_policy=adaptive (sourced after
# /mhp/lib.sh): the decision log's conversions and the headroom as the
# policy computes it.

# conversions ZONE: decision-log lines of conversions to ZONE (Kernel|Movable)
# that happened (not the refusals and failures the log also keeps).
conversions() {
	awk -v z="$1" '$7 == "convert" && $8 == z && !/no block converted|failed/' \
		/sys/kernel/debug/mhp_online/decisions
}

# headroom_mb: what the policy calls headroom, node 0, from /proc/zoneinfo:
# free pages above the high watermark of the kernel zones.
headroom_mb() {
	awk '/^Node 0/ { zone = $4 } /^Node [1-9]/ { zone = "" }
	     /^ +pages free/ { free = $3 }
	     /^ +high +[0-9]/ { if (zone != "" && zone != "Movable" && zone != "Device" && free > $2) s += free - $2 }
	     END { print int(s / 256) }' /proc/zoneinfo
}
