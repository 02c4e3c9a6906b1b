#!/bin/bash
# fresh_reported with virtio-mem: as report-fresh-dimm.sh, the memory
# plugged by a virtio-mem device, so virtio_mem holds the online_page
# callback and the module marks fresh pages from its memory notifier only.
# mhp-guest: --mem 1G --maxmem 10G --vmem 8G --balloon --append "memhp_default_state=online"
# mhp-timeout: 900
. /mhp/lib.sh
. /mhp/tests/report-lib.bash

REPORT_GIB=${REPORT_GIB:-4}

# add_vmem MIB: ask the device for MIB more and wait until it is all online.
add_vmem() {
	local want size
	want=$(($(memtotal_kb) + $1 * 1024))
	size=$(($(host vmem-size vm0) + $1 * 1024 * 1024))
	host vmem-set vm0 "$size" >/dev/null &&
		host vmem-wait vm0 "$size" 300 >/dev/null && memtotal_wait "$want" 300
}

mhp_load || { tap_fail load "insmod failed"; exit 0; }
kmod_load virtio_mem || { tap_fail load-virtio-mem "insmod virtio_mem failed"; exit 0; }
tap_check callback-left-to-virtio-mem test "$(mhp_summary callback)" = aside
report_setup || { tap_fail reporting "free page reporting did not start: $(mhp_summary page_reporting)"; exit 0; }
tap_ok reporting "page_reporting: $(mhp_summary page_reporting)"
report_phases add_vmem $((REPORT_GIB * 1024))
tap_check unload mhp_unload
