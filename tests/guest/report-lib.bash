# shellcheck shell=bash
# Shared by the guest tests of fresh_reported (sourced after /mhp/lib.sh):
# what free page reporting gives the hypervisor after a hot-add, without
# and with the module marking fresh pages as reported, and after memory
# was used and freed.
#
# Two counts of every window:
#  - the hypervisor's: bytes QEMU discarded of guest RAM (the runner traces
#    ram_block_discard_range; scripts/guest --balloon, "host discarded");
#  - the guest's: virtio_balloon's report calls and the entries they
#    carried (a kprobe event on virtballoon_free_page_report).
#
# Knobs (--env): REPORT_WINDOW seconds counted after a hot-add (default
# 30, the time the kernel's reporting takes to go through an idle zone),
# REUSE_MB MiB written to a tmpfs and deleted for the reported-again check
# (default 1536).

REPORT_WINDOW=${REPORT_WINDOW:-30}
REUSE_MB=${REUSE_MB:-1536}
REPORT_TRACE=/sys/kernel/tracing

# discarded_bytes: what QEMU discarded of guest RAM so far.
discarded_bytes() {
	host discarded | awk '{ print $1 }'
}

# report_setup: virtio_balloon in, its reports traced, reporting on.
report_setup() {
	kmod_load virtio_balloon || return 1
	echo 'p:mhp/report virtballoon_free_page_report nents=%dx:u32' \
		>>$REPORT_TRACE/kprobe_events || return 1
	echo 1 >$REPORT_TRACE/events/mhp/report/enable || return 1
	wait_for 30 output_is = active mhp_summary page_reporting
}

# report_settle: wait until QEMU has discarded nothing for 6 s (at most
# 180 s), so that a window counts only what it caused.
report_settle() {
	local last now same=0 end=$((SECONDS + 180))
	last=$(discarded_bytes)
	while [ $same -lt 6 ] && [ $SECONDS -lt $end ]; do
		sleep 1
		now=$(discarded_bytes)
		if [ "$now" = "$last" ]; then
			same=$((same + 1))
		else
			same=0
			last=$now
		fi
	done
	[ $same -ge 6 ]
}

# report_window_start / report_window_end NAME: count what the window
# between them reported, as metrics NAME_mib (discarded by QEMU),
# NAME_reports and NAME_entries (the guest's report calls); sets
# WINDOW_MIB.
report_window_start() {
	: >$REPORT_TRACE/trace
	_report_d0=$(discarded_bytes)
	_report_t0=$SECONDS
}

report_window_end() {
	local calls entries
	# The window lasts REPORT_WINDOW seconds from its start, whatever the
	# hot-add in it took.
	while [ $((SECONDS - _report_t0)) -lt "$REPORT_WINDOW" ]; do
		sleep 1
	done
	WINDOW_MIB=$((($(discarded_bytes) - _report_d0) >> 20))
	read -r calls entries < <(awk '/mhp\/report|report:/ && match($0, /nents=[0-9]+/) {
		n++; e += substr($0, RSTART + 6, RLENGTH - 6) } END { print n + 0, e + 0 }' \
		$REPORT_TRACE/trace)
	metric "$1_mib" "$WINDOW_MIB"
	metric "$1_reports" "$calls"
	metric "$1_entries" "$entries"
	note "$1: QEMU discarded $WINDOW_MIB MiB in ${REPORT_WINDOW} s; the guest made $calls report calls with $entries entries"
}

# report_reuse NAME: write REUSE_MB to a tmpfs, delete it, and count what is
# reported in the window after; sets WINDOW_MIB.
report_reuse() {
	mkdir -p /mnt/reuse
	mount -t tmpfs -o size=$((REUSE_MB + 64))M reuse /mnt/reuse || return 1
	dd if=/dev/zero of=/mnt/reuse/fill bs=1M count="$REUSE_MB" 2>/dev/null || return 1
	report_settle
	report_window_start
	rm /mnt/reuse/fill
	umount /mnt/reuse
	report_window_end "$1"
}

# report_phases ADD_CMD MIB: the whole test. ADD_CMD MIB hot-adds MIB of
# memory and waits until it is online. Without the option, the fresh
# memory is reported (at least half of it in the window); with it, at most
# 1 % is, and the summary counts the pages marked; memory used and freed
# is reported with the option at least 80 % as much as without.
report_phases() {
	local add=$1 mib=$2 fresh_off fresh_on reuse_off reuse_on marked0

	report_settle || note "reporting at boot did not settle in 180 s"
	echo 0 >/sys/module/mhp_online/parameters/fresh_reported
	report_window_start
	"$add" "$mib" || { tap_fail hot-add-off "hot-add failed"; return; }
	report_window_end fresh_off
	fresh_off=$WINDOW_MIB
	tap_check fresh-reported-without-option test "$fresh_off" -ge $((mib / 2))
	report_settle
	report_reuse reuse_off || { tap_fail reuse-off "tmpfs fill failed"; return; }
	reuse_off=$WINDOW_MIB
	tap_check reused-reported-without-option test "$reuse_off" -ge $((REUSE_MB / 2))

	report_settle
	echo 1 >/sys/module/mhp_online/parameters/fresh_reported
	marked0=$(mhp_summary pages_fresh_reported)
	report_window_start
	"$add" "$mib" || { tap_fail hot-add-on "hot-add failed"; return; }
	report_window_end fresh_on
	fresh_on=$WINDOW_MIB
	metric fresh_marked_mib $((($(mhp_summary pages_fresh_reported) - marked0) >> 8))
	tap_check fresh-skipped-with-option test "$fresh_on" -le $((mib / 100))
	tap_check fresh-pages-marked test $(($(mhp_summary pages_fresh_reported) - marked0)) \
		-ge $((mib * 256 * 95 / 100))
	report_settle
	report_reuse reuse_on || { tap_fail reuse-on "tmpfs fill failed"; return; }
	reuse_on=$WINDOW_MIB
	tap_check reused-reported-with-option test $((reuse_on * 10)) -ge $((reuse_off * 8))
	note "fresh ${mib} MiB: $fresh_off MiB reported without the option, $fresh_on with; used and freed ${REUSE_MB} MiB: $reuse_off without, $reuse_on with"
}
