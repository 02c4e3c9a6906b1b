#!/bin/bash
# mhp-status: its settings, its JSON (valid against its schema) and the
# number an autoscaler needs, bytes removable now per device, against what
# an unplug right after it really returns.
#
# DIMMs: the module with placement=head and zone policy off, so each DIMM's
# memmap lands in the block onlined just before it (a chain) and three
# DIMMs go to ZONE_NORMAL, where slab from a tmpfs full of files lands too;
# a fourth goes to ZONE_MOVABLE. Then one unplug attempt per DIMM, oldest
# first, so removing one cannot free another before that one was tried:
# each DIMM said removable must go, each said not must stay.
# virtio-mem: a 1 GiB device plugged, more files created, then it is asked
# for size 0: the bytes it gives back must match what mhp-status said (its
# plugged bytes less the 2 MiB sub-blocks holding kernel memory) within one
# memory block. (Kernel memory rarely lands in the device here: its blocks
# are onlined to the freelists' tail and the stuck DIMMs still have room;
# filling ZONE_NORMAL with file pages first did not change that.)
# mhp-guest: --mem 1G --maxmem 6G --slots 8 --vmem 1G --append "memhp_default_state=online"
# mhp-timeout: 600
. /mhp/lib.sh

ST=/mhp/mhp-status
SCHEMA=/tmp/mhp-status.schema.json
DIMMS=()

[ -x $ST ] || { tap_skip status "mhp-status not built (make bpf)"; exit 0; }

# status_json NAME: mhp-status -J into /tmp/NAME.json, saved with the run.
status_json() {
	$ST -J >"/tmp/$1.json" || return 1
	save_file "mhp-status-$1.json" "/tmp/$1.json"
}

# valid NAME: the saved JSON against the schema the binary prints.
valid() {
	json_validate $SCHEMA "/tmp/$1.json"
}

# dimm_device ID: the DIMM's ACPI device name as mhp-status reports it.
dimm_device() {
	local b
	b=$(dimm_blocks "$1" | head -1)
	jq -r --argjson b "$b" '.memory[] | select(.block == $b) | .device' /tmp/dimms.json
}

mhp_load placement=head zone_policy=off || { tap_fail load "insmod failed"; exit 0; }
$ST --schema >$SCHEMA
tap_check schema jq -e '.title == "mhp-status --json"' $SCHEMA
tap_check text-runs $ST >/tmp/status.txt
save_file mhp-status.txt /tmp/status.txt
tap_check text-names-callback grep -q "online_page_callback *mhp_online" /tmp/status.txt
tap_check text-names-params grep -q "placement=head" /tmp/status.txt

# Three DIMMs to ZONE_NORMAL, a chain by head placement; kernel memory that
# stays (inodes and dentries of 30000 files); a fourth DIMM auto-onlined to
# ZONE_MOVABLE, whose memmap the others host.
for i in 1 2 3 4; do
	[ $i = 4 ] && echo online_movable >/sys/devices/system/memory/auto_online_blocks
	id=$(dimm_add 256M) || { tap_fail dimm-add "DIMM $i not added"; exit 0; }
	DIMMS+=("$id")
	wait_for 60 hotadded_all_online || { tap_fail dimm-online "DIMM $i not onlined"; exit 0; }
	if [ $i = 3 ]; then
		mkdir -p /mnt/st && mount -t tmpfs -o size=64m,nr_inodes=0 st /mnt/st
		seq -f /mnt/st/f%g 1 30000 | xargs touch
	fi
done
echo online >/sys/devices/system/memory/auto_online_blocks
note "$(blk_map $(hotadded_blocks) | tr '\n' ';')"

tap_check json-dimms status_json dimms
tap_check json-dimms-valid valid dimms
tap_check json-dimms-settings jq -e '.settings.module_loaded and .settings.online_page_callback == "mhp_online"
	and .settings.module_params.placement == "head"' /tmp/dimms.json
tap_check json-dimms-four jq -e '[.devices[] | select(.kind == "dimm")] | length == 4' /tmp/dimms.json
say=()
for id in "${DIMMS[@]}"; do
	dev=$(dimm_device "$id")
	say+=("$(jq -r --arg d "$dev" '.devices[] | select(.device == $d) | .removable_bytes' /tmp/dimms.json)")
done
note "mhp-status says removable per DIMM (bytes): ${say[*]}"
$ST --textfile /tmp/status.prom >/dev/null
save_file status.prom /tmp/status.prom
tap_check textfile-total grep -qx "mhp_removable_bytes{device=\"total\",kind=\"total\"} $(jq .removable_bytes /tmp/dimms.json)" /tmp/status.prom

got=()
for id in "${DIMMS[@]}"; do
	if dimm_try_unplug "$id"; then got+=($((256 << 20))); else got+=(0); fi
done
note "an unplug returned per DIMM (bytes): ${got[*]}"
if [ "${say[*]}" = "${got[*]}" ]; then
	tap_ok dimms-removable-as-said "$(IFS=+; echo $((${say[*]})) ) bytes said and returned"
else
	tap_fail dimms-removable-as-said "said ${say[*]}, returned ${got[*]}"
fi
# The mix is what makes the comparison mean something.
tap_check dimms-some-stuck test "$(printf '%s\n' "${got[@]}" | grep -cx 0)" -gt 0
metric dimm-said-bytes "$(IFS=+; echo $((${say[*]})))"
metric dimm-returned-bytes "$(IFS=+; echo $((${got[*]})))"

# virtio-mem: its own device; virtio_mem takes the online_page callback.
kmod_load virtio_mem || { tap_fail load-virtio-mem "insmod virtio_mem failed"; exit 0; }
host vmem-set vm0 1G >/dev/null
host vmem-wait vm0 1G 120 >/dev/null || { tap_fail vmem-plug "vm0 did not reach 1 GiB"; exit 0; }
wait_for 60 hotadded_all_online || { tap_fail vmem-online "virtio-mem blocks not onlined"; exit 0; }
seq -f /mnt/st/g%g 1 30000 | xargs touch
tap_check json-vmem status_json vmem
tap_check json-vmem-valid valid vmem
dev=$(jq -r '.devices[] | select(.kind == "virtio-mem") | .device' /tmp/vmem.json)
said=$(jq -r --arg d "$dev" '.devices[] | select(.device == $d) | .removable_bytes' /tmp/vmem.json)
plugged=$(jq -r --arg d "$dev" '.devices[] | select(.device == $d) | .plugged_bytes' /tmp/vmem.json)
tap_check json-vmem-plugged test "$plugged" = $((1 << 30))

returned=$(((1 << 30) - $(vmem_unplug_all vm0)))
bs=$(blk_bytes)
note "virtio-mem $dev: mhp-status said $said of $plugged bytes removable, the unplug returned $returned"
metric vmem-said-bytes "$said"
metric vmem-returned-bytes "$returned"
diff=$((said - returned))
if [ ${diff#-} -le "$bs" ]; then
	tap_ok vmem-removable-as-said "said $said, returned $returned (within one block, $bs)"
else
	tap_fail vmem-removable-as-said "said $said, returned $returned: more than one block ($bs) apart"
fi
rm -rf /mnt/st/* && umount /mnt/st
tap_check unload mhp_unload
