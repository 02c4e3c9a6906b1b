#!/bin/bash
# Foundation: NUMA guests, and DIMMs hot-added to a chosen node.
# mhp-guest: --mem 1G --numa 2 --maxmem 4G --append "memhp_default_state=online"
# mhp-timeout: 150
. /mhp/lib.sh

tap_check two-nodes test -d /sys/devices/system/node/node1
id=$(dimm_add 128M 1) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
n=$(dimm_blocks "$id")
tap_check dimm-on-node1 test -e "/sys/devices/system/node/node1/memory$n"
tap_check dimm-online test "$(blk_state "$n")" = online
