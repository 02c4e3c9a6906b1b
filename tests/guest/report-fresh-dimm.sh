#!/bin/bash
# fresh_reported with DIMMs: free page reporting (virtio-balloon,
# free-page-reporting=on) after hot-adding 4 GiB, the module's option off
# and then on, and memory used and freed reported again either way
# (tests/guest/report-lib.bash). The module holds the online_page callback.
# mhp-guest: --mem 1G --maxmem 10G --balloon --append "memhp_default_state=online"
# mhp-timeout: 900
. /mhp/lib.sh
. /mhp/tests/report-lib.bash

REPORT_GIB=${REPORT_GIB:-4}

# add_dimm MIB: hot-add one DIMM of MIB and wait until it is all online.
add_dimm() {
	local want
	want=$(($(memtotal_kb) + $1 * 1024))
	dimm_add "$1M" >/dev/null && memtotal_wait "$want" 300
}

mhp_load || { tap_fail load "insmod failed"; exit 0; }
tap_check callback-held test "$(mhp_summary callback)" = held
report_setup || { tap_fail reporting "free page reporting did not start: $(mhp_summary page_reporting)"; exit 0; }
tap_ok reporting "page_reporting: $(mhp_summary page_reporting)"
report_phases add_dimm $((REPORT_GIB * 1024))
tap_check unload mhp_unload
