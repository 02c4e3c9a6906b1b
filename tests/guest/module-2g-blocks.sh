#!/bin/bash
# 2 GiB memory blocks, as x86 uses in VMs whose memory ends at 64 GiB or
# more on a 2 GiB boundary: a 65 GiB guest (its memory ends at 66 GiB) that
# touches little of it. The default 1 GiB granule is smaller than a block
# here; the module fits it to the block, and parameters given to insmod
# must work (they were refused with -EINVAL when every write validated the
# unfitted default). A granule below the block size is refused and the old
# value stays; a hot-added 2 GiB DIMM is decided and logged, and offlines.
# mhp-guest: --mem 65G --maxmem 72G --mem-noreserve --append "memhp_default_state=offline"
# mhp-timeout: 300
. /mhp/lib.sh
set -u

MP=/sys/module/mhp_online/parameters
DBG=/sys/kernel/debug/mhp_online
write() { echo "$2" >"$MP/$1"; } 2>/dev/null

tap_check block-size-2g test "$(cat "$MHP_SYS_MEM/block_size_bytes")" = 80000000
tap_check insmod-with-params mhp_load placement=head zone_policy=ratio ratio=301
tap_check granule-fitted-to-block test "$(mhp_summary granule_pages)" -eq $((2 << 30 >> 12))
tap_check granule-below-block-refused fails write granule_mb 1024
tap_check granule-kept test "$(cat $MP/granule_mb)" = 2048
tap_check granule-4g-accepted write granule_mb 4096
tap_check granule-4g-set test "$(mhp_summary granule_pages)" -eq $((4 << 30 >> 12))
tap_check placement-tail-accepted write placement tail

id=$(dimm_add 2G) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
n=$(dimm_blocks "$id" | head -1)
tap_check dimm-is-one-block test "$(dimm_blocks "$id" | wc -l)" -eq 1
tap_check online blk_online "$n"
zone=$(blk_zone "$n")
note "2 GiB block $n onlined to $zone"
logged=$zone
[ "$zone" = Movable ] || logged=Kernel
tap_check decision-logged grep -q "^[0-9]* $n .* online $logged " $DBG/decisions
tap_check offline blk_offline "$n"
tap_check unload mhp_unload
