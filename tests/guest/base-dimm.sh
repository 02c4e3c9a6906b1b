#!/bin/bash
# Foundation: a DIMM hot-added through QMP at run time appears as memory
# blocks in the guest; once they are offline, device_del removes it and the
# guest's memory total drops back.
# mhp-guest: --mem 1G --maxmem 4G --append "memhp_default_state=offline"
# mhp-timeout: 180
. /mhp/lib.sh

total() { awk '/MemTotal/ { print $2 }' /proc/meminfo; }

before_blocks=$(blk_list | wc -l)
before_total=$(total)
id=$(dimm_add 256M) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
blocks=$(dimm_blocks "$id" | xargs)
tap_check blocks-appear test "$(blk_list | wc -l)" -eq $((before_blocks + 2))
tap_check blocks-offline-by-default test "$(blk_state ${blocks%% *})" = offline
for n in $blocks; do blk_online "$n" online_movable; done
tap_check total-grows test "$(total)" -eq $((before_total + 256 * 1024))
tap_check zone-movable test "$(blk_zone ${blocks##* })" = Movable
lsmem
for n in $blocks; do blk_offline "$n"; done
tap_check device-del host dimm-del "$id" 30
tap_check blocks-gone test "$(blk_list | wc -l)" -eq "$before_blocks"
tap_check total-back test "$(total)" -eq "$before_total"
echo "MemTotal before $before_total kB, with DIMM $((before_total + 262144)) kB, after $(total) kB"
metric memtotal-after-kb "$(total)"
