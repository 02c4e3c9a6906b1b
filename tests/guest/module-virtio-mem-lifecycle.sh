#!/bin/bash
# A virtio-mem device's driver life with the module loaded beside it: the
# device plugs and unplugs, the driver is unbound and bound again,
# virtio_mem is unloaded and loaded again while its device stays, and
# devices are hot-added at run time, with virtio_mem loaded and while it
# is not (QEMU 7.2 cannot remove a virtio-mem device again). At each
# step the device must work as without the module (it plugs what is asked,
# no probe fails), and the module must hold the online_page callback only
# while virtio_mem is not loaded at all: an unbound driver gives the
# callback back, but a bind can come at any time and needs it then.
# mhp-guest: --mem 1G --maxmem 4G --vmem 1G,requested=0 --append "memhp_default_state=online"
# mhp-timeout: 300
. /mhp/lib.sh
set -u

grew() { [ "$(memtotal_kb)" -gt "$1" ]; }
# plugs NAME SIZE [DEVICE]: the device (vm0) plugs SIZE and the guest's
# memory grows.
plugs() {
	local t0 d=${3:-vm0}
	t0=$(memtotal_kb)
	host vmem-set "$d" "$2" >/dev/null
	tap_check "$1-plugs" host vmem-wait "$d" "$2" 90
	tap_check "$1-memtotal-grew" wait_for 30 grew "$t0"
}
# unplugs NAME: back to 0 bytes plugged.
unplugs() { tap_check "$1-unplugs" test "$(vmem_unplug_all vm0 120)" = 0; }

kmod_load virtio_mem || { tap_fail load-virtio-mem "insmod virtio_mem failed"; exit 0; }
fails0=$(vmem_probe_failures)
tap_check bound wait_for 30 vmem_bound
dev=$(vmem_devices | head -1)
tap_check load mhp_load
tap_check aside-with-virtio-mem test "$(mhp_summary callback)" = aside
plugs first 512M
unplugs first

# Unbind and bind the driver: the device comes back and works.
echo "$dev" >"$VMEM_DRIVER/unbind"
tap_check unbound fails vmem_bound
tap_check aside-while-unbound test "$(mhp_summary callback)" = aside
echo "$dev" >"$VMEM_DRIVER/bind"
tap_check bound-again wait_for 30 vmem_bound
plugs rebound 256M
unplugs rebound

# virtio_mem unloaded with its device present: the module takes the
# callback; virtio_mem loaded again: the module steps aside, the device
# probes and works.
tap_check rmmod-virtio-mem rmmod virtio_mem
tap_check held-without-virtio-mem test "$(mhp_summary callback)" = held
tap_check insmod-virtio-mem insmod /mhp/modules/virtio_mem.ko
tap_check bound-after-reload wait_for 30 vmem_bound
tap_check aside-after-reload test "$(mhp_summary callback)" = aside
plugs reloaded 256M

# Hot-added devices: one while virtio_mem is loaded, one while it is not
# (the module holds the callback then, and steps aside when virtio_mem
# comes).
hot1=$(host vmem-add 1G 0) || { tap_fail vmem-add "QMP hot-add failed"; exit 0; }
tap_check hot-added-binds wait_for 60 vmem_bound 2
plugs hot-added 256M "$hot1"
tap_check aside-two-devices test "$(mhp_summary callback)" = aside
unplugs reloaded
tap_check hot-added-unplugs test "$(vmem_unplug_all "$hot1" 120)" = 0
tap_check rmmod-virtio-mem-two rmmod virtio_mem
tap_check held-again test "$(mhp_summary callback)" = held
hot2=$(host vmem-add 1G 0) || { tap_fail vmem-add-2 "QMP hot-add failed"; exit 0; }
sleep 2
tap_check insmod-virtio-mem-three insmod /mhp/modules/virtio_mem.ko
tap_check three-bound wait_for 60 vmem_bound 3
tap_check aside-three-devices test "$(mhp_summary callback)" = aside
plugs hot-added-unbound 256M "$hot2"
tap_check no-probe-failure test "$(vmem_probe_failures)" -eq "$fails0"
tap_check unload mhp_unload
plugs after-unload 512M
