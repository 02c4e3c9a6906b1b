#!/bin/bash
# Foundation: a virtio-mem device grows and shrinks through requested-size,
# and the size the device reports follows (so does the guest's MemTotal).
# mhp-guest: --mem 1G --maxmem 5G --vmem 2G,requested=512M --append "memhp_default_state=online_movable"
# mhp-timeout: 240
. /mhp/lib.sh

t0=$(memtotal_kb)
kmod_load virtio_mem || { tap_fail load-virtio-mem "insmod failed"; exit 0; }
step() { # step NAME SIZE_MIB: device and guest follow requested-size
	local name=$1 mib=$2
	host vmem-set vm0 "${mib}M"
	tap_check "$name-device-size" host vmem-wait vm0 "${mib}M" 90
	tap_check "$name-memtotal" wait_for 60 memtotal_is $((t0 + mib * 1024))
	echo "requested ${mib} MiB: device reports $(host vmem-size vm0) bytes, MemTotal $(memtotal_kb) kB"
}
tap_check plugged-at-probe host vmem-wait vm0 512M 90
tap_check memtotal-at-probe wait_for 60 memtotal_is $((t0 + 512 * 1024))
step grow 1536
step shrink 256
lsmem
metric vmem-final-bytes "$(host vmem-size vm0)"
