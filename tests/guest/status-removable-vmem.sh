#!/bin/bash
# mhp-status with a virtio-mem device that holds kernel memory: 256 MiB of
# boot memory cannot hold the memmaps of 1.5 GiB plugged in 128 MiB steps
# nor the slab of 40000 files, so with the zone policy off (all blocks in
# ZONE_NORMAL) they land in the device's own blocks. Asked for size 0, the
# device gives back its blocks and every 2 MiB sub-block without kernel
# memory: what it gives back must match what mhp-status said within one
# memory block, and some of it must have stayed (else the comparison says
# nothing about the sub-block estimate).
# mhp-guest: --mem 256M --maxmem 3G --vmem 1536M --append "memhp_default_state=online"
# mhp-timeout: 600
. /mhp/lib.sh

ST=/mhp/mhp-status
[ -x $ST ] || { tap_skip status "mhp-status not built (make bpf)"; exit 0; }

mhp_load zone_policy=off || { tap_fail load "insmod failed"; exit 0; }
kmod_load virtio_mem || { tap_fail load-virtio-mem "insmod virtio_mem failed"; exit 0; }
for ((mib = 128; mib <= 1536; mib += 128)); do
	host vmem-set vm0 "${mib}M" >/dev/null
	host vmem-wait vm0 "${mib}M" 60 >/dev/null || { tap_fail vmem-plug "vm0 did not reach $mib MiB"; exit 0; }
done
mkdir -p /mnt/st && mount -t tmpfs -o size=64m,nr_inodes=0 st /mnt/st
seq -f /mnt/st/f%g 1 40000 | xargs touch

$ST -J >/tmp/st.json
save_file mhp-status-vmem-kernel.json /tmp/st.json
$ST --schema >/tmp/schema.json
tap_check json-valid json_validate /tmp/schema.json /tmp/st.json
said=$(jq '.devices[] | select(.kind == "virtio-mem") | .removable_bytes' /tmp/st.json)
plugged=$(jq '.devices[] | select(.kind == "virtio-mem") | .plugged_bytes' /tmp/st.json)
stuck=$(jq '[.memory[] | select(.device != "boot" and .removable == "no")] | length' /tmp/st.json)
note "mhp-status: $said of $plugged bytes removable, $stuck blocks hold kernel memory"
tap_check some-blocks-hold-kernel-memory test "$stuck" -gt 0

left=$(vmem_unplug_all vm0)
returned=$((plugged - left))
bs=$(blk_bytes)
note "the unplug returned $returned bytes, $left stayed plugged"
metric said-bytes "$said"
metric returned-bytes "$returned"
tap_check some-memory-stayed test "$left" -gt 0
diff=$((said - returned))
if [ ${diff#-} -le "$bs" ]; then
	tap_ok removable-as-said "said $said, returned $returned (within one block, $bs)"
else
	tap_fail removable-as-said "said $said, returned $returned: more than one block ($bs) apart"
fi
