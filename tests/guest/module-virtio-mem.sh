#!/bin/bash
# Coexistence with virtio_mem, which needs the one online_page callback:
#  1. module first, then virtio_mem: the module steps aside on the module
#     notifier's COMING, virtio_mem probes and honours requested-size;
#  2. virtio_mem first, then the module: the module loads, leaves the
#     callback to virtio_mem without trying for it (a device that probes
#     later needs it too), virtio_mem keeps honouring requested-size;
#  3. the module gone again, virtio_mem still works.
# Blocks are onlined as plain "online", so the zone policy decides for the
# dynamic memory group of the device meanwhile.
# mhp-guest: --mem 1G --maxmem 4G --vmem 2G,requested=256M --append "memhp_default_state=online"
# mhp-timeout: 300
. /mhp/lib.sh

DBG=/sys/kernel/debug/mhp_online
memtotal() { awk '/MemTotal/ { print $2 }' /proc/meminfo; }

# resize SIZE NAME: ask the device for SIZE, expect it plugged and MemTotal up.
resize() {
	local t0
	t0=$(memtotal)
	host vmem-set vm0 "$1" >/dev/null
	if host vmem-wait vm0 "$1" 90 >/dev/null && [ "$(memtotal)" -gt "$t0" ]; then
		tap_ok "$2" "plugged $(host vmem-size vm0), MemTotal $t0 -> $(memtotal) kB"
	else
		tap_fail "$2" "plugged $(host vmem-size vm0), MemTotal $t0 -> $(memtotal) kB"
	fi
}

# 1. module first
mhp_load || { tap_fail load "insmod failed"; exit 0; }
tap_check module-first-holds-callback test "$(mhp_summary callback)" = held
kmod_load virtio_mem || { tap_fail load-virtio-mem "insmod virtio_mem failed"; exit 0; }
tap_check virtio-mem-probes host vmem-wait vm0 256M 90
tap_check module-stepped-aside test "$(mhp_summary callback)" = aside
resize 768M virtio-mem-after-module-resizes
tap_check module-still-loaded test -d /sys/module/mhp_online
tap_check decisions-for-dynamic-group grep -q " dynamic " $DBG/decisions
cat $DBG/decisions
tap_check unload-while-aside mhp_unload

# 2. virtio_mem first
dmesg -c >/dev/null
tap_check module-loads-beside-virtio-mem mhp_load
tap_check summary-says-aside test "$(mhp_summary callback)" = aside
tap_check summary-names-virtio-mem test "$(mhp_summary callback_aside_for)" = virtio_mem
tap_check log-says-left-to-it klog_has "virtio_mem is loaded: online_page callback left to it"
resize 1280M virtio-mem-before-module-resizes
tap_check module-loaded test -d /sys/module/mhp_online
tap_check unload-while-aside-from-start mhp_unload

# 3. module gone
resize 1536M virtio-mem-after-unload-resizes
lsmem
