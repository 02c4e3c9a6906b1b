#!/bin/bash
# virtio_mem and mhp_online loaded at the same instant, in both orders, 20
# rounds (the boot-time case: modules-load or udev loads both at once).
# virtio_mem takes the online_page callback when its device probes; the
# module must never hold it then. Each round: both modules load, the
# device binds (no "probe ... failed"), the module is aside for
# virtio_mem; rmmod virtio_mem gives the module the callback back; rmmod
# of the module works. At the end the device still plugs memory.
# mhp-guest: --mem 1G --maxmem 4G --vmem 1G,requested=0 --append "memhp_default_state=online"
# mhp-timeout: 300
. /mhp/lib.sh
set -u

# The transport stays; only virtio_mem itself comes and goes.
kmod_load virtio_mem || { tap_fail load-virtio-mem "insmod virtio_mem failed"; exit 0; }
rmmod virtio_mem || { tap_fail rmmod-virtio-mem "rmmod virtio_mem failed"; exit 0; }
fails0=$(vmem_probe_failures)

rounds=20 loaded=0 binds=0 aside=0 back=0 unloads=0
for ((r = 0; r < rounds; r++)); do
	if [ $((r % 2)) = 0 ]; then
		insmod /mhp/modules/virtio_mem.ko & a=$!
		mhp_load & b=$!
	else
		mhp_load & b=$!
		insmod /mhp/modules/virtio_mem.ko & a=$!
	fi
	wait $a && wait $b && loaded=$((loaded + 1))
	wait_for 30 vmem_bound && binds=$((binds + 1))
	[ "$(mhp_summary callback)" = aside ] && aside=$((aside + 1))
	rmmod virtio_mem
	[ "$(mhp_summary callback)" = held ] && back=$((back + 1))
	mhp_unload && unloads=$((unloads + 1))
done
note "$rounds rounds: $loaded both loaded, $binds device bound, $aside aside, $back callback back, $unloads unloads"
tap_check both-load-every-round test $loaded -eq $rounds
tap_check device-binds-every-round test $binds -eq $rounds
tap_check no-probe-failure test "$(vmem_probe_failures)" -eq "$fails0"
tap_check aside-every-round test $aside -eq $rounds
tap_check callback-back-every-round test $back -eq $rounds
tap_check unload-every-round test $unloads -eq $rounds

# The device still works, with the module loaded beside it.
insmod /mhp/modules/virtio_mem.ko && mhp_load
t0=$(memtotal_kb)
host vmem-set vm0 256M >/dev/null
tap_check device-plugs-after host vmem-wait vm0 256M 90
tap_check memtotal-grew test "$(memtotal_kb)" -gt "$t0"
tap_check final-unload mhp_unload
