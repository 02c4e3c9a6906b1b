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

# adaptive_to_kernel_phase: ask for 200 MiB more headroom than there is, so
# the watcher converts blocks to the kernel zone; wait for two and check
# the log gives the reason. Sets first_to_kernel, the first block converted.
adaptive_to_kernel_phase() {
	local want
	want=$(($(headroom_mb) + 200))
	echo "$want" >/sys/module/mhp_online/parameters/kernel_headroom_mb
	wait_for 60 output_is -ge 2 hotadded_count Normal
	note "kernel_headroom_mb=$want: $(hotadded_count Normal) blocks Normal, headroom now $(headroom_mb) MiB"
	tap_check to-kernel-logged test "$(conversions Kernel | grep -c 'kernel headroom low on node 0')" -ge 2
	# shellcheck disable=SC2034 # read by the caller
	first_to_kernel=$(conversions Kernel | head -1 | awk '{ print $2 }')
}

# adaptive_back_phase: kernel_headroom_mb back to 32, so the blocks go back
# to ZONE_MOVABLE; wait and check the log. Sets stuck, the blocks still in
# the kernel zone, and checks the log says why.
adaptive_back_phase() {
	echo 32 >/sys/module/mhp_online/parameters/kernel_headroom_mb
	wait_for 60 output_is -eq 0 hotadded_count Normal
	mapfile -t stuck < <(hotadded_in Normal)
	note "kernel_headroom_mb=32: $(hotadded_count Normal) blocks still Normal (${stuck[*]:-none}), headroom $(headroom_mb) MiB"
	tap_check back-to-movable test "$(conversions Movable | grep -c 'kernel headroom back on node 0')" -ge 1
	if [ ${#stuck[@]} -gt 0 ]; then
		tap_check stuck-refusal-logged grep -q 'refused: it holds unmovable pages' \
			/sys/kernel/debug/mhp_online/decisions
	else
		tap_check stuck-refusal-logged true
	fi
}
