#!/bin/bash
# A read of the module's debugfs never waits on the kernel. An offlining
# that keeps retrying holds the device hotplug lock for as long as it
# retries: here a page of the block that cannot migrate now (mhp-pin keeps
# a vmsplice reference on it), as a busy page did for 20 s under stress.
# While that offlining runs, a read of `blocks` returns (the census columns
# -1 on every line) and leaves the module unused, and mhp-status runs and
# judges by the page flags alone (tests/host/status_test.c checks the words
# it uses when those tell nothing either). Once the writer gives up, the
# census is back and the module unloads. Before the bounded wait a read
# hung until the offlining ended and kept the module in use (module-stress:
# rmmod refused, reloads-ok failed). rmmod itself waits for such an
# offlining in any case: restore_online_page_callback() takes the memory
# hotplug lock, which the offlining holds; that is the kernel's, and it
# does not fail.
# Two DIMMs: the held block in ZONE_MOVABLE (user memory goes there first,
# and no kernel page there makes the offlining fail at once), and one in
# ZONE_NORMAL, the kind of block mhp-status judges by the census.
# mhp-guest: --mem 512M --maxmem 2G --append "memhp_default_state=offline"
# mhp-timeout: 180
. /mhp/lib.sh
set -u

DBG=/sys/kernel/debug/mhp_online
# census_cols [FILE]: "pages_offline pages_unmovable" of every block line.
census_cols() { awk '!/^#/ { print $14, $15 }' "${1:-$DBG/blocks}"; }
# census_known: both blocks, both columns counted (pages in transit or slab
# may be there).
census_known() { [ "$(census_cols | grep -Ecx '0 [0-9]+')" -eq 2 ]; }
offliner_running() { kill -0 "$off" 2>/dev/null; }

mhp_load || { tap_fail load "insmod failed"; exit 0; }
id=$(dimm_add 128M) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
n=$(dimm_blocks "$id")
id=$(dimm_add 128M) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
k=$(dimm_blocks "$id")
bp=$(($(blk_bytes) / 4096))
tap_check online-movable blk_online "$n" online_movable
tap_check online-kernel blk_online "$k" online_kernel
tap_check census-known census_known

# Movable user memory goes to ZONE_MOVABLE first: the block gets some.
/mhp/mhp-pin $((n * bp)) "$bp" 64 >/tmp/pin 2>&1 &
pin=$!
tap_check page-pinned wait_for 60 grep -q pinned /tmp/pin
note "$(cat /tmp/pin)"

# The offlining retries until its writer gets a signal (KILL after 20 s).
blk_offline "$n" 20 &
off=$!
# Inside the retry loop: the kernel says so once per failed migration.
tap_check offlining-retries wait_for 15 sh -c 'dmesg | grep -q "migrating pfn .* failed"'

cat $DBG/blocks >/tmp/blocks
tap_check read-returned-while-offlining offliner_running
tap_check census-unknown-while-held test "$(census_cols /tmp/blocks | xargs)" = "-1 -1 -1 -1"
cat /tmp/blocks
tap_check status-runs-while-held sh -c '/mhp/mhp-status >/tmp/status 2>&1'
cat /tmp/status
# Without the census it judges the kernel-zone block by /proc/kpageflags.
tap_check status-judges-by-page-flags \
	grep -Eq "^ +$k .* no +holds kernel memory: [0-9]+ slab" /tmp/status
tap_check module-unused test "$(cat /sys/module/mhp_online/refcnt)" -eq 0
tap_check still-offlining offliner_running

wait "$off"
tap_check offlining-gave-up test "$(blk_state "$n")" = online
kill "$pin"
wait "$pin" 2>/dev/null
tap_check census-back-after census_known
tap_check offline-after-unpin blk_offline "$n"
tap_check unload mhp_unload
