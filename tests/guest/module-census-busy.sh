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
# The adaptive watcher does not wait on it in the kernel's mutex either:
# asked for a conversion while the offlining holds the lock, it tries the
# lock (mhp_adapt_lock()) and stays out of a hung-task report, here made
# to come after 2 s instead of 120 (the guest's log check fails on one);
# once the lock is free it converts.
# Three DIMMs: the held block in ZONE_MOVABLE (user memory goes there
# first, and no kernel page there makes the offlining fail at once), one
# in ZONE_NORMAL, the kind of block mhp-status judges by the census, and
# one onlined as plain "online", the adaptive policy's.
# mhp-guest: --mem 512M --maxmem 2G --append "memhp_default_state=offline"
# mhp-timeout: 180
. /mhp/lib.sh
. /mhp/tests/adaptive-lib.bash
set -u

DBG=/sys/kernel/debug/mhp_online
HUNG=/proc/sys/kernel/hung_task_timeout_secs
# census_cols [FILE]: "pages_offline pages_unmovable" of every block line.
census_cols() { awk '!/^#/ { print $14, $15 }' "${1:-$DBG/blocks}"; }
# census_known: every block, both columns counted (pages in transit or
# slab may be there).
census_known() { [ "$(census_cols | grep -Ecx '0 [0-9]+')" -eq 3 ]; }
offliner_running() { kill -0 "$off" 2>/dev/null; }

mhp_load zone_policy=adaptive || { tap_fail load "insmod failed"; exit 0; }
id=$(dimm_add 128M) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
n=$(dimm_blocks "$id")
id=$(dimm_add 128M) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
k=$(dimm_blocks "$id")
id=$(dimm_add 128M) || { tap_fail dimm-add "QMP hot-add failed"; exit 0; }
a=$(dimm_blocks "$id")
bp=$(($(blk_bytes) / 4096))
tap_check online-movable blk_online "$n" online_movable
tap_check online-kernel blk_online "$k" online_kernel
blk_online "$a"
tap_check online-adaptive-movable test "$(blk_zone "$a")" = Movable
tap_check census-known census_known

# Movable user memory goes to ZONE_MOVABLE first: the block gets some.
/mhp/mhp-pin $((n * bp)) "$bp" 64 >/tmp/pin 2>&1 &
pin=$!
tap_check page-pinned wait_for 60 grep -q pinned /tmp/pin
note "$(cat /tmp/pin)"

# The offlining retries until its writer gets a signal (KILL after 40 s).
blk_offline "$n" 40 &
off=$!
# Inside the retry loop: the kernel says so once per failed migration.
tap_check offlining-retries wait_for 15 sh -c 'dmesg | grep -q "migrating pfn .* failed"'

cat $DBG/blocks >/tmp/blocks
tap_check read-returned-while-offlining offliner_running
tap_check census-unknown-while-held test "$(census_cols /tmp/blocks | xargs)" = "-1 -1 -1 -1 -1 -1"
cat /tmp/blocks
tap_check status-runs-while-held sh -c '/mhp/mhp-status >/tmp/status 2>&1'
cat /tmp/status
# Without the census it judges the kernel-zone block by /proc/kpageflags.
tap_check status-judges-by-page-flags \
	grep -Eq "^ +$k .* no +holds kernel memory: [0-9]+ slab" /tmp/status
tap_check module-unused test "$(cat /sys/module/mhp_online/refcnt)" -eq 0

# Ask the watcher for kernel memory while the lock is held.
hung0=$(cat $HUNG)
echo 2 >$HUNG
tk0=$(mhp_summary adaptive_to_kernel)
echo "$(($(headroom_mb) + 300))" >/sys/module/mhp_online/parameters/kernel_headroom_mb
nap 8
watcher=$(grep -lx mhp_adapt /proc/[0-9]*/comm | head -1)
note "watcher while held: $(tr '\n' ' ' <"${watcher%comm}stack" | cut -c1-200)"
tap_check watcher-not-converted-while-held test "$(mhp_summary adaptive_to_kernel)" -eq "$tk0"
tap_check watcher-not-hung fails klog_has "task mhp_adapt:"
echo "$hung0" >$HUNG
tap_check still-offlining offliner_running

wait "$off"
tap_check offlining-gave-up test "$(blk_state "$n")" = online
kill "$pin"
wait "$pin" 2>/dev/null
# The watcher had its lock after the offlining and converted the
# adaptive block (nothing else of the policy's is left to convert).
tap_check watcher-converted-after wait_for 30 output_is -gt "$tk0" mhp_summary adaptive_to_kernel
tap_check adaptive-block-kernel test "$(blk_zone "$a")" = Normal
tap_check census-back-after census_known
tap_check offline-after-unpin blk_offline "$n"
tap_check unload mhp_unload
